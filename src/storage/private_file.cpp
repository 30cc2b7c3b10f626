#include "storage/private_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace bastion::storage {

namespace fs = std::filesystem;

void ensure_private_dir(const fs::path& dir) {
  // Missing ancestors are created 0700 too (whatever the umask): they are
  // the data directory or inside it (`bastion secret set` on a fresh data
  // directory must not leave it 0755). Existing ones are left as they are.
  fs::path partial;
  for (const auto& part : dir.parent_path()) {
    partial /= part;
    if (partial == partial.root_path() || partial.filename().empty()) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
      throw std::runtime_error(
          fmt::format("cannot create directory {}: {}", partial.string(), std::strerror(errno)));
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error(
        fmt::format("cannot create directory {}: {}", dir.string(), std::strerror(errno)));
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error(fmt::format("{} is not a directory", dir.string()));
  if (st.st_mode & 077)
    throw std::runtime_error(
        fmt::format("directory {} is accessible by group/others (mode {:04o}); run: chmod 700 {}",
                    dir.string(), unsigned(st.st_mode & 07777), dir.string()));
}

std::string first_line(std::string_view text) {
  std::string line(text.substr(0, text.find('\n')));
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

std::optional<std::string> read_first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return first_line(line);
}

void sync_dir(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

namespace {

// Temp files of `file` (`<name>.<...>.tmp`, and the older `<name>.tmp`)
// that a writer which died between creating and renaming left behind:
// removed once older than any write takes. Age, not the pid in the name,
// decides: replicas in other pid namespaces share data directories.
void remove_stale_temps(const fs::path& file) {
  constexpr auto kStale = std::chrono::minutes(10);
  const std::string name = file.filename().string();
  const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  const auto now = fs::file_time_type::clock::now();
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.size() < name.size() + 4 || n.compare(0, name.size(), name) != 0 ||
        n[name.size()] != '.' || n.compare(n.size() - 4, 4, ".tmp") != 0)
      continue;
    std::error_code e2;
    if (!it->is_regular_file(e2) || e2) continue;
    const auto t = it->last_write_time(e2);
    if (!e2 && now - t > kStale) ::unlink(it->path().c_str());
  }
}

}  // namespace

void write_private_file(const fs::path& file, std::string_view content) {
  // A temp name of this write's own: two processes (replicas on one data
  // directory, each perhaps pid 1 in its container) or threads writing the
  // same file at once must not remove or rename each other's half-written
  // temp file. The pid, a counter and 64 random bits.
  static std::atomic<unsigned> writes{0};
  std::uint64_t nonce = 0;
  if (::getrandom(&nonce, sizeof nonce, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof nonce))
    nonce = static_cast<std::uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
  remove_stale_temps(file);
  fs::path tmp = file;
  tmp += fmt::format(".{}-{}-{:016x}.tmp", ::getpid(),
                     writes.fetch_add(1, std::memory_order_relaxed), nonce);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    throw std::runtime_error(
        fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno)));
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(e)));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("cannot sync {}: {}", tmp.string(), std::strerror(e)));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("cannot rename {}: {}", tmp.string(), std::strerror(e)));
  }
  sync_dir(file.parent_path());
}

std::optional<std::string> read_private_file(const fs::path& file, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<std::string> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return fail(fmt::format("cannot open {}: {}", file.string(), std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(fmt::format("{} is not a regular file", file.string()));
  }
  if (st.st_mode & 077) {
    ::close(fd);
    return fail(fmt::format("refusing {}: mode {:04o} lets group/others read it; run: chmod 600 {}",
                            file.string(), unsigned(st.st_mode & 07777), file.string()));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return fail(fmt::format("cannot read {}: {}", file.string(), std::strerror(e)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace bastion::storage
