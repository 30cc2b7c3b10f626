#include "auth/record_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "auth/jwk.hpp"
#include "protocol/base64.hpp"
#include "storage/private_file.hpp"

namespace bastion::auth {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::string_view kUsed = ".used";
constexpr std::string_view kRecord = ".json";

// mtime of a record file = its expiry.
std::optional<std::int64_t> expiry_of(const fs::path& file) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// flock on the directory's lock file for the lifetime of the object.
class DirLock {
 public:
  explicit DirLock(const fs::path& dir) {
    fs::path p = dir / ".lock";
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ >= 0)
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
  }
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  bool ok() const { return fd_ >= 0; }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

std::string record_name(std::string_view key) { return protocol::hex_encode(sha256(key)); }

RecordStore::RecordStore(fs::path dir, RecordStoreOptions options, Clock clock)
    : dir_(std::move(dir)), options_(options), clock_(std::move(clock)) {
  storage::ensure_private_dir(dir_);
}

fs::path RecordStore::file_of(std::string_view key, bool used) const {
  return dir_ / (record_name(key) + std::string(used ? kUsed : kRecord));
}

std::optional<json::object> RecordStore::read(const fs::path& file) const {
  std::string why;
  auto text = storage::read_private_file(file, &why);
  if (!text || text->size() > options_.max_record_bytes) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

Result<fs::path> RecordStore::write_temp(const json::object& record, std::int64_t expires) const {
  fs::path tmp = dir_ / (".tmp-" + b64url_encode(random_bytes(12)));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail("cannot write " + tmp.string() + ": " + std::strerror(errno));
  std::string text = json::serialize(record);
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail("cannot write " + tmp.string() + ": " + std::strerror(e));
    }
    off += static_cast<std::size_t>(n);
  }
  struct timespec times[2] = {{expires, 0}, {expires, 0}};
  ::futimens(fd, times);
  if (options_.durable && ::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail("cannot sync " + tmp.string() + ": " + std::strerror(e));
  }
  ::close(fd);
  return tmp;
}

Result<bool> RecordStore::create(std::string_view key, const json::object& record,
                                 std::int64_t expires) {
  auto tmp = write_temp(record, expires);
  if (!tmp) return tmp.error();
  fs::path file = file_of(key);
  bool exists = std::filesystem::exists(file_of(key, true));
  int rc = exists ? -1 : ::link(tmp->c_str(), file.c_str());
  int e = exists ? EEXIST : errno;
  ::unlink(tmp->c_str());
  if (rc != 0) {
    if (e == EEXIST) return false;
    return fail("cannot create " + file.string() + ": " + std::strerror(e));
  }
  if (options_.durable) storage::sync_dir(dir_);
  return true;
}

std::optional<json::object> RecordStore::get(std::string_view key) const {
  fs::path file = file_of(key);
  auto exp = expiry_of(file);
  if (!exp || *exp <= clock_()) return std::nullopt;
  return read(file);
}

RecordStore::Taken RecordStore::take(std::string_view key) {
  fs::path file = file_of(key), used = file_of(key, true);
  std::int64_t now = clock_();
  Taken out;
  auto exp = expiry_of(file);
  if (exp && *exp > now && ::rename(file.c_str(), used.c_str()) == 0) {
    if (auto r = read(used)) {
      out.state = Taken::State::kTaken;
      out.record = std::move(*r);
    }
    return out;
  }
  // Someone took it first (or it expired, or never existed).
  auto uexp = expiry_of(used);
  if (uexp && *uexp > now) {
    if (auto r = read(used)) {
      out.state = Taken::State::kReplayed;
      out.record = std::move(*r);
    }
  }
  return out;
}

Result<std::optional<RecordStore::Versioned>> RecordStore::update(std::string_view key,
                                                                  const UpdateFn& fn) {
  DirLock lock(dir_);
  if (!lock.ok()) return fail("cannot lock " + dir_.string());
  fs::path file = file_of(key);
  std::optional<json::object> cur;
  auto exp = expiry_of(file);
  if (exp && *exp > clock_()) cur = read(file);
  auto next = fn(std::move(cur));
  if (!next) {
    ::unlink(file.c_str());
    if (options_.durable) storage::sync_dir(dir_);
    return std::optional<Versioned>{};
  }
  auto tmp = write_temp(next->record, next->expires);
  if (!tmp) return tmp.error();
  if (::rename(tmp->c_str(), file.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp->c_str());
    return fail("cannot replace " + file.string() + ": " + std::strerror(e));
  }
  if (options_.durable) storage::sync_dir(dir_);
  return next;
}

bool RecordStore::remove(std::string_view key) {
  bool a = ::unlink(file_of(key).c_str()) == 0;
  bool b = ::unlink(file_of(key, true).c_str()) == 0;
  if (options_.durable && (a || b)) storage::sync_dir(dir_);
  return a;
}

namespace {
template <class F>
void for_each_file(const fs::path& dir, F&& f) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    f(name);
  }
  ::closedir(d);
}
}  // namespace

std::vector<json::object> RecordStore::list() const {
  std::vector<json::object> out;
  std::int64_t now = clock_();
  for_each_file(dir_, [&](std::string_view name) {
    if (!ends_with(name, kRecord)) return;
    fs::path file = dir_ / std::string(name);
    auto exp = expiry_of(file);
    if (!exp || *exp <= now) return;
    if (auto r = read(file)) out.push_back(std::move(*r));
  });
  return out;
}

std::size_t RecordStore::count() const {
  std::size_t n = 0;
  std::int64_t now = clock_();
  for_each_file(dir_, [&](std::string_view name) {
    if (!ends_with(name, kRecord)) return;
    auto exp = expiry_of(dir_ / std::string(name));
    if (exp && *exp > now) ++n;
  });
  return n;
}

std::size_t RecordStore::prune() {
  std::size_t n = 0;
  std::int64_t now = clock_();
  std::vector<std::string> gone;
  for_each_file(dir_, [&](std::string_view name) {
    bool rec = ends_with(name, kRecord), used = ends_with(name, kUsed);
    if (!rec && !used) return;
    auto exp = expiry_of(dir_ / std::string(name));
    if (exp && *exp <= now) gone.emplace_back(name);
  });
  // Temp files of a writer that died mid-write: their mtime is the expiry
  // they were written with, so they go with the records.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(".tmp-", 0) != 0) continue;
    auto exp = expiry_of(e.path());
    if (exp && *exp <= now) gone.push_back(name);
  }
  for (const auto& g : gone)
    if (::unlink((dir_ / g).c_str()) == 0) ++n;
  return n;
}

}  // namespace bastion::auth
