#include "audit/log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "protocol/base64.hpp"
#include "storage/private_file.hpp"

namespace bastion::audit {

using protocol::base64_decode;
using protocol::base64_encode;

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::string_view kActive = "audit.log";
constexpr std::string_view kHead = "audit.log.head";
constexpr std::string_view kCheckpoint = "audit_checkpoint";
constexpr std::size_t kHeadBytes = 20 + 1 + 64 + 1;
const std::string kZeroHash(64, '0');

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string signed_message(std::string_view key_id, std::uint64_t tree_size, std::string_view root,
                           std::string_view head) {
  return fmt::format("bastion-audit-checkpoint/v1\n{}\n{}\n{}\n{}\n", key_id, tree_size, root,
                     head);
}

std::string compute_key_id(std::string_view pk) {
  auto h = merkle::sha256(pk);
  return "ak_" + merkle::to_hex(h).substr(0, 16);
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::optional<json::object> parse_record(std::string_view line) {
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::optional<std::uint64_t> get_u64(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  return std::nullopt;
}

std::string get_str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool is_checkpoint(const json::object& o) { return get_str(o, "event_type") == kCheckpoint; }

std::optional<merkle::CompactRange> range_of(const json::object& cp) {
  auto size = get_u64(cp, "tree_size");
  auto* r = cp.if_contains("range");
  if (!size || !r || !r->is_array()) return std::nullopt;
  std::vector<merkle::Hash> hashes;
  for (const auto& h : r->get_array()) {
    if (!h.is_string()) return std::nullopt;
    auto x = merkle::from_hex(h.get_string());
    if (!x) return std::nullopt;
    hashes.push_back(*x);
  }
  return merkle::CompactRange::restore(*size, std::move(hashes));
}

void write_all(int fd, std::string_view data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
}

// The active file, opened for appending (created when missing).
int open_active(const fs::path& file) {
  return ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

std::string rotated_name(std::uint64_t first_seq) {
  return fmt::format("audit-{:012}.log", first_seq);
}

}  // namespace

std::vector<fs::path> audit_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto n = e.path().filename().string();
    if (n.size() == 22 && n.rfind("audit-", 0) == 0 && e.path().extension() == ".log")
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  if (fs::exists(dir / kActive, ec)) out.push_back(dir / kActive);
  return out;
}

// --- AuditLog -------------------------------------------------------------------

// audit.writers, mapped shared by every writer: how many are open. While
// it is 1 the writer keeps audit.lock and appends without a syscall more; a
// newcomer raises it and waits for the lock, which the incumbent lets go at
// its next append or background tick.
struct AuditLog::Shared {
  std::atomic<std::uint32_t> writers;
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "shared across processes");

namespace {

constexpr off_t kPresenceByte = 0;  // read-locked by every open writer
constexpr off_t kJoinByte = 1;      // write-locked while one joins or leaves

// fcntl OFD locks on one byte: per open file description like flock, so two
// logs in one process count as two writers.
bool range_lock(int fd, short type, off_t byte, bool wait) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  while (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0)
    if (errno != EINTR) return false;
  return true;
}

bool range_locked_by_others(int fd, off_t byte) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  return ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

}  // namespace

// One turn at writing: audit.lock is held (taken now unless we kept it) and
// what the other writers appended meanwhile is read in.
class AuditLog::Turn {
 public:
  explicit Turn(AuditLog& log) : log_(log) { log_.begin_turn_locked(); }
  ~Turn() { log_.end_turn_locked(); }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

 private:
  AuditLog& log_;
};

void AuditLog::take_lock_locked() {
  while (::flock(lock_fd_, LOCK_EX) != 0 && errno == EINTR) {
  }
  holding_ = true;
}

void AuditLog::begin_turn_locked() {
  if (holding_) return;  // alone since our last turn: nobody else wrote
  take_lock_locked();
  catch_up_locked();
}

void AuditLog::end_turn_locked() {
  // Keep the lock while we are the only writer; hand it over otherwise.
  if (holding_ && shared_->writers.load(std::memory_order_acquire) > 1) {
    ::flock(lock_fd_, LOCK_UN);
    holding_ = false;
  }
}

AuditLog::AuditLog(AuditOptions options) : options_(std::move(options)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  storage::ensure_private_dir(options_.dir);
  try {
    open_locks();
    // No other thread yet: mu_ is taken inside open_or_resume().
    take_lock_locked();  // key creation and resume race no other writer
    load_or_create_key();
    open_or_resume();
    end_turn_locked();
  } catch (...) {
    // The destructor does not run: release the files and the locks.
    leave_writers();
    for (int fd : {fd_, head_fd_, lock_fd_, writers_fd_})
      if (fd >= 0) ::close(fd);
    throw;
  }
  worker_ = std::thread([this] { background(); });
}

void AuditLog::load_or_create_key() {
  auto key_file = options_.dir / "audit.key";
  std::string why;
  if (fs::exists(key_file)) {
    auto text = storage::read_private_file(key_file, &why);
    if (!text) throw std::runtime_error(why);
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
    auto sk = base64_decode(*text);
    if (!sk || sk->size() != crypto_sign_SECRETKEYBYTES)
      throw std::runtime_error(key_file.string() + " is not an Ed25519 audit key");
    sk_ = std::move(*sk);
    pk_.resize(crypto_sign_PUBLICKEYBYTES);
    crypto_sign_ed25519_sk_to_pk(reinterpret_cast<unsigned char*>(pk_.data()),
                                 reinterpret_cast<const unsigned char*>(sk_.data()));
  } else {
    sk_.resize(crypto_sign_SECRETKEYBYTES);
    pk_.resize(crypto_sign_PUBLICKEYBYTES);
    crypto_sign_keypair(reinterpret_cast<unsigned char*>(pk_.data()),
                        reinterpret_cast<unsigned char*>(sk_.data()));
    storage::write_private_file(key_file, base64_encode(sk_) + "\n");
    spdlog::info("audit: generated checkpoint signing key {}", key_file.string());
  }
  // The public key is for verifiers; it is written every start so it always
  // matches the signing key.
  storage::write_private_file(options_.dir / "audit.pub", base64_encode(pk_) + "\n");
  key_id_ = compute_key_id(pk_);
}

void AuditLog::open_locks() {
  auto open_lock = [&](std::string_view name) {
    auto path = options_.dir / name;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      throw std::runtime_error(
          fmt::format("audit: cannot open {}: {}", path.string(), std::strerror(errno)));
    return fd;
  };
  lock_fd_ = open_lock("audit.lock");
  writers_fd_ = open_lock("audit.writers");
  auto fail = [&](std::string_view what) {
    return std::runtime_error(fmt::format("audit: cannot {} {}/audit.writers: {}", what,
                                          options_.dir.string(), std::strerror(errno)));
  };
  struct stat st {};
  if (::fstat(writers_fd_, &st) != 0) throw fail("stat");
  if (static_cast<std::size_t>(st.st_size) < sizeof(Shared) &&
      ::ftruncate(writers_fd_, sizeof(Shared)) != 0)
    throw fail("size");
  void* m = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED, writers_fd_, 0);
  if (m == MAP_FAILED) throw fail("map");
  shared_ = static_cast<Shared*>(m);  // a zero-filled file is a valid count of 0
  // Joining is serialised (byte 1): each writer holds a read lock on byte 0
  // while it lives, so "no other lock on byte 0" means no other writer, and
  // a count left by writers that died (kill -9) can be reset.
  if (!range_lock(writers_fd_, F_WRLCK, kJoinByte, true)) throw fail("lock");
  bool present = range_lock(writers_fd_, F_RDLCK, kPresenceByte, true);
  alone_ = present && !range_locked_by_others(writers_fd_, kPresenceByte);
  if (alone_) shared_->writers.store(0, std::memory_order_release);
  if (present) shared_->writers.fetch_add(1, std::memory_order_acq_rel);
  range_lock(writers_fd_, F_UNLCK, kJoinByte, true);
  if (!present) {
    ::munmap(shared_, sizeof(Shared));
    shared_ = nullptr;
    throw fail("lock");
  }
}

void AuditLog::leave_writers() {
  if (!shared_) return;
  range_lock(writers_fd_, F_WRLCK, kJoinByte, true);
  shared_->writers.fetch_sub(1, std::memory_order_acq_rel);
  range_lock(writers_fd_, F_UNLCK, kPresenceByte, true);
  range_lock(writers_fd_, F_UNLCK, kJoinByte, true);
  ::munmap(shared_, sizeof(Shared));
  shared_ = nullptr;
}

AuditLog::~AuditLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard lock(mu_);
  try {
    begin_turn_locked();
    checkpoint_locked("shutdown", true);
  } catch (...) {
  }
  leave_writers();
  if (fd_ >= 0) {
    ::fdatasync(fd_);
    ::close(fd_);
  }
  if (head_fd_ >= 0) ::close(head_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // lets the next writer go on
  if (writers_fd_ >= 0) ::close(writers_fd_);
  sodium_memzero(sk_.data(), sk_.size());
}

AuditLog::Resumed AuditLog::resume_state() {
  auto active = options_.dir / kActive;
  Resumed r;
  std::uint64_t& torn = r.torn;
  bool& clean = r.clean;
  bool& fresh = r.fresh;
  range_ = merkle::CompactRange();
  prev_ = merkle::Hash{};
  seq_ = 0;
  since_checkpoint_ = 0;
  file_first_seq_ = 1;
  file_bytes_ = 0;
  // Resume from the newest file that has records (the active one, or the
  // last rotated one after a crash right at rotation).
  auto files = audit_files(options_.dir);
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    std::string text = read_all(*it);
    if (!text.empty() && text.back() != '\n') {
      auto keep = text.rfind('\n');
      keep = keep == std::string::npos ? 0 : keep + 1;
      torn = text.size() - keep;
      text.resize(keep);
      if (::truncate(it->c_str(), static_cast<off_t>(keep)) != 0)
        throw std::runtime_error(fmt::format("audit: cannot cut the torn tail of {}: {}",
                                             it->string(), std::strerror(errno)));
      spdlog::warn("audit: {} ended in a torn record ({} bytes, from a crash); cut off",
                   it->string(), torn);
    }
    auto lines = split_lines(text);
    if (lines.empty()) continue;
    fresh = false;
    // Start from the last checkpoint (its range restores the tree), else
    // from seq 1.
    std::size_t from = lines.size();
    std::optional<merkle::CompactRange> range;
    for (std::size_t i = lines.size(); i-- > 0;) {
      auto rec = parse_record(lines[i]);
      if (rec && is_checkpoint(*rec)) {
        range = range_of(*rec);
        if (!range)
          throw std::runtime_error(fmt::format(
              "audit: {} line {}: checkpoint is malformed; run `bastion audit verify {}` and move "
              "the file away",
              it->string(), i + 1, options_.dir.string()));
        from = i;
        break;
      }
    }
    std::string expect_prev;
    std::uint64_t expect_seq = 0;
    if (!range) {
      auto first = parse_record(lines[0]);
      if (!first || get_u64(*first, "seq") != 1u)
        throw std::runtime_error(fmt::format(
            "audit: cannot resume {}: no checkpoint and it does not start at seq 1; run `bastion "
            "audit verify {}` and move the file away",
            it->string(), options_.dir.string()));
      range.emplace();
      from = 0;
      expect_prev = kZeroHash;
      expect_seq = 1;
    }
    merkle::Hash last_leaf{};
    for (std::size_t i = from; i < lines.size(); ++i) {
      auto rec = parse_record(lines[i]);
      auto seq = rec ? get_u64(*rec, "seq") : std::nullopt;
      bool linked = rec && seq && (expect_seq == 0 || *seq == expect_seq) &&
                    (expect_prev.empty() || get_str(*rec, "prev") == expect_prev);
      if (!linked)
        throw std::runtime_error(fmt::format(
            "audit: {} line {} does not continue the chain (the file was altered); run `bastion "
            "audit verify {}` and move the file away",
            it->string(), i + 1, options_.dir.string()));
      last_leaf = merkle::leaf_hash(lines[i]);
      range->append(last_leaf);
      since_checkpoint_ = is_checkpoint(*rec) ? 0 : since_checkpoint_ + 1;
      expect_seq = *seq + 1;
      expect_prev = merkle::to_hex(last_leaf);
      if (i + 1 == lines.size()) {
        clean = is_checkpoint(*rec) && get_str(*rec, "reason") == "shutdown";
        seq_ = *seq;
      }
    }
    range_ = std::move(*range);
    prev_ = last_leaf;
    if (*it == active) {
      auto first = parse_record(lines[0]);
      file_first_seq_ = first ? get_u64(*first, "seq").value_or(seq_) : seq_;
      file_bytes_ = text.size();
    } else {
      file_first_seq_ = seq_ + 1;  // a new active file begins after the rotated one
      file_bytes_ = 0;
    }
    break;
  }
  return r;
}

void AuditLog::open_or_resume() {
  auto active = options_.dir / kActive;
  auto [torn, clean, fresh] = resume_state();
  fd_ = open_active(active);
  if (fd_ < 0)
    throw std::runtime_error(
        fmt::format("audit: cannot open {}: {}", active.string(), std::strerror(errno)));
  auto head = options_.dir / kHead;
  head_fd_ = ::open(head.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (head_fd_ < 0)
    throw std::runtime_error(
        fmt::format("audit: cannot open {}: {}", head.string(), std::strerror(errno)));
  std::lock_guard lock(mu_);
  if (fresh) file_first_seq_ = 1;
  if (file_bytes_ == 0 && !fresh) {
    // A new active file starts with a checkpoint, so it verifies on its own.
    checkpoint_locked("periodic", true);
  }
  json::object start{{"event_type", "audit_start"}, {"key_id", key_id_}};
  // With other writers running, the last record is simply theirs.
  if (alone_)
    start["clean_shutdown"] = fresh || clean;
  else
    start["other_writers"] = true;
  if (torn) start["torn_bytes_removed"] = torn;
  write_record_locked(std::move(start));
}

void AuditLog::catch_up_locked() {
  auto active = options_.dir / kActive;
  struct stat mine {
  }, now{};
  bool same_file = ::fstat(fd_, &mine) == 0 && ::stat(active.c_str(), &now) == 0 &&
                   mine.st_dev == now.st_dev && mine.st_ino == now.st_ino;
  auto size = same_file ? static_cast<std::uint64_t>(now.st_size) : 0;
  if (same_file && size == file_bytes_) return;  // nobody else wrote
  if (!same_file || size < file_bytes_) {
    // Another writer rotated (the new active file starts with its
    // checkpoint), or the file shrank: resume from what is on disk.
    auto r = resume_state();  // warns itself about a torn record it cuts off
    ::close(fd_);
    fd_ = open_active(active);
    if (fd_ < 0) {
      ++failures_;
      spdlog::error("audit: cannot open {}: {}", active.string(), std::strerror(errno));
      return;
    }
    if (file_bytes_ == 0 && !r.fresh) checkpoint_locked("periodic", true);
    return;
  }
  // Records another writer appended to our file: read them into the chain.
  int rfd = ::open(active.c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) {
    ++failures_;
    spdlog::error("audit: cannot read {}: {}", active.string(), std::strerror(errno));
    return;
  }
  std::string text(static_cast<std::size_t>(size - file_bytes_), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t n =
        ::pread(rfd, text.data() + got, text.size() - got, static_cast<off_t>(file_bytes_ + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(rfd);
  text.resize(got);
  std::size_t pos = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', pos)) {
    absorb_line_locked(std::string_view(text).substr(pos, nl - pos));
    pos = nl + 1;
  }
  file_bytes_ += pos;
  if (pos < text.size()) {
    // A writer died mid-record (it held the lock): cut the torn tail.
    spdlog::warn("audit: another writer left a torn record ({} bytes); cut off", text.size() - pos);
    if (::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) ++failures_;
  }
}

void AuditLog::absorb_line_locked(std::string_view line) {
  auto rec = parse_record(line);
  auto seq = rec ? get_u64(*rec, "seq") : std::nullopt;
  if (!seq || *seq != seq_ + 1 || get_str(*rec, "prev") != merkle::to_hex(prev_)) {
    ++failures_;
    spdlog::error(
        "audit: a record another writer appended does not continue the chain after seq {}; run "
        "`bastion audit verify {}`",
        seq_, options_.dir.string());
  }
  auto hash = merkle::leaf_hash(line);
  seq_ = seq.value_or(seq_ + 1);
  prev_ = hash;
  range_.append(hash);
  if (rec && is_checkpoint(*rec)) {
    since_checkpoint_ = 0;
    last_checkpoint_ = std::chrono::steady_clock::now();
  } else {
    ++since_checkpoint_;
  }
  head_dirty_ = true;
}

std::uint64_t AuditLog::append(json::object event) {
  std::lock_guard lock(mu_);
  Turn turn(*this);
  write_record_locked(std::move(event));
  std::uint64_t seq = seq_;
  if (since_checkpoint_ >= options_.checkpoint_every) checkpoint_locked("periodic", false);
  if (file_bytes_ >= options_.max_file_bytes) rotate_locked();
  return seq;
}

void AuditLog::write_record_locked(json::object event) {
  // {"seq":N,"ts":"...", <the event's members>, "prev":"..."}: framed by hand
  // so the event object is serialized once, not copied into a new one.
  event.erase("seq");
  event.erase("ts");
  event.erase("prev");
  std::string body = json::serialize(event);
  std::string line = fmt::format(R"({{"seq":{},"ts":"{}")", seq_ + 1, now_iso8601());
  if (body.size() > 2) {
    line += ',';
    line.append(body, 1, body.size() - 2);
  }
  line += R"(,"prev":")";
  line += merkle::to_hex(prev_);
  line += "\"}";
  auto hash = merkle::leaf_hash(line);
  line += '\n';
  try {
    write_all(fd_, line);
  } catch (const std::exception& e) {
    ++failures_;
    spdlog::error("audit: cannot write record {}: {}", seq_ + 1, e.what());
    return;
  }
  ++seq_;
  prev_ = hash;
  range_.append(hash);
  file_bytes_ += line.size();
  ++since_checkpoint_;
  dirty_ = true;
  if (options_.sync == AuditOptions::Sync::kAlways) {
    write_head_locked();
    ::fdatasync(fd_);
    dirty_ = false;
  } else {
    head_dirty_ = true;  // the background thread writes it with the sync
  }
}

void AuditLog::write_head_locked() {
  std::string head = fmt::format("{:020} {}\n", seq_, merkle::to_hex(prev_));
  if (::pwrite(head_fd_, head.data(), head.size(), 0) != static_cast<ssize_t>(kHeadBytes)) {
    ++failures_;
    spdlog::error("audit: cannot update the head file: {}", std::strerror(errno));
  }
  head_dirty_ = false;
}

void AuditLog::checkpoint() {
  std::lock_guard lock(mu_);
  Turn turn(*this);
  checkpoint_locked("periodic", false);
}

void AuditLog::checkpoint_locked(std::string_view reason, bool force) {
  if (since_checkpoint_ == 0 && !force) return;
  std::string root = merkle::to_hex(range_.root());
  std::string head = merkle::to_hex(prev_);
  std::string msg = signed_message(key_id_, range_.size(), root, head);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                       reinterpret_cast<const unsigned char*>(sk_.data()));
  json::array range;
  for (const auto& h : range_.hashes()) range.emplace_back(merkle::to_hex(h));
  write_record_locked(json::object{
      {"event_type", kCheckpoint},
      {"reason", reason},
      {"tree_size", range_.size()},
      {"root", root},
      {"head", head},
      {"key_id", key_id_},
      {"range", std::move(range)},
      {"sig", base64_encode(std::string_view(reinterpret_cast<const char*>(sig), sizeof sig))}});
  since_checkpoint_ = 0;
  last_checkpoint_ = std::chrono::steady_clock::now();
  write_head_locked();
}

void AuditLog::rotate_locked() {
  checkpoint_locked("periodic", true);
  ::fdatasync(fd_);
  ::close(fd_);
  auto active = options_.dir / kActive;
  auto target = options_.dir / rotated_name(file_first_seq_);
  if (::rename(active.c_str(), target.c_str()) != 0)
    spdlog::error("audit: cannot rotate {}: {}", active.string(), std::strerror(errno));
  fd_ = open_active(active);
  storage::sync_dir(options_.dir);
  file_first_seq_ = seq_ + 1;
  file_bytes_ = 0;
  checkpoint_locked("periodic", true);
  if (options_.keep_files > 0) {
    auto files = audit_files(options_.dir);
    files.pop_back();  // the active file
    while (files.size() > options_.keep_files) {
      std::error_code ec;
      fs::remove(files.front(), ec);
      spdlog::info("audit: removed old file {} (keep_files {})", files.front().string(),
                   options_.keep_files);
      files.erase(files.begin());
    }
  }
}

int AuditLog::take_sync_fd_locked() {
  dirty_ = false;
  return ::dup(fd_);
}

namespace {

// fdatasync on a dup of the log's fd, outside the lock, so appends go on
// (and a rotation may close the original meanwhile).
void sync_and_close(int fd) {
  if (fd < 0) return;
  ::fdatasync(fd);
  ::close(fd);
}

}  // namespace

void AuditLog::sync() {
  int fd;
  {
    std::lock_guard lock(mu_);
    fd = take_sync_fd_locked();
  }
  sync_and_close(fd);
}

void AuditLog::background() {
  // At most 200 ms, so a writer that joins waits no longer than that for the lock.
  auto tick = std::min<std::chrono::milliseconds>(
      {options_.sync_interval, options_.checkpoint_interval, std::chrono::milliseconds(200)});
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, tick);
    if (stop_) break;
    bool due = std::chrono::steady_clock::now() - last_checkpoint_ >= options_.checkpoint_interval;
    if ((due && since_checkpoint_ > 0) || head_dirty_) {
      Turn turn(*this);
      if (due) checkpoint_locked("periodic", false);
      if (head_dirty_) write_head_locked();
    } else {
      end_turn_locked();  // a writer that joined while we were idle gets the lock
    }
    if (options_.sync == AuditOptions::Sync::kInterval && dirty_) {
      int fd = take_sync_fd_locked();
      lock.unlock();
      sync_and_close(fd);
      lock.lock();
    }
  }
}

std::uint64_t AuditLog::last_seq() const {
  std::lock_guard lock(mu_);
  return seq_;
}

std::uint64_t AuditLog::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

std::string AuditLog::public_key() const { return base64_encode(pk_); }
std::string AuditLog::key_id() const { return key_id_; }

// --- verification -----------------------------------------------------------------

AuditReport verify_audit(const std::vector<fs::path>& files, const std::string& public_key_b64,
                         const std::optional<fs::path>& head_file) {
  AuditReport rep;
  auto fail = [&](const fs::path& f, std::uint64_t line, std::uint64_t seq, std::string what) {
    if (!rep.problem) rep.problem = AuditProblem{f.string(), line, seq, std::move(what)};
  };
  auto pk = base64_decode(public_key_b64);
  while (pk && pk->size() != crypto_sign_PUBLICKEYBYTES) pk.reset();
  if (!pk) {
    rep.problem = AuditProblem{"", 0, 0, "the public key is not a base64 Ed25519 key"};
    return rep;
  }
  std::string key_id = compute_key_id(*pk);

  // The head file says where the log must end.
  std::optional<std::uint64_t> head_seq;
  std::string head_hash;
  if (head_file) {
    std::string h = read_all(*head_file);
    unsigned long long s = 0;
    char hex[65] = {};
    if (h.size() == kHeadBytes && std::sscanf(h.c_str(), "%20llu %64s", &s, hex) == 2) {
      head_seq = s;
      head_hash = hex;
    } else {
      rep.notes.push_back("head file " + head_file->string() +
                          " is unreadable; truncation at a "
                          "record boundary after the last checkpoint cannot be detected");
    }
  }

  std::optional<std::uint64_t> expect_seq;
  std::string expect_prev;  // empty: unknown (log begins mid-chain)
  std::optional<merkle::CompactRange> range;
  std::string last_hash;
  fs::path last_file;
  std::uint64_t last_line = 0;

  for (const auto& f : files) {
    std::string text = read_all(f);
    if (text.empty()) continue;
    auto lines = split_lines(text);
    bool torn = text.back() != '\n';
    for (std::size_t i = 0; i < lines.size() && !rep.problem; ++i) {
      std::uint64_t ln = i + 1;
      std::string_view line = lines[i];
      if (torn && i + 1 == lines.size()) {
        fail(f, ln, expect_seq.value_or(0),
             "the last record is incomplete: the file was truncated inside a record");
        break;
      }
      auto rec = parse_record(line);
      auto seq = rec ? get_u64(*rec, "seq") : std::nullopt;
      if (!rec || !seq) {
        fail(f, ln, expect_seq.value_or(0),
             "not a valid record (not a JSON object with a seq): the line was edited");
        break;
      }
      if (expect_seq && *seq != *expect_seq) {
        if (*seq > *expect_seq)
          fail(f, ln, *seq,
               fmt::format("seq jumps from {} to {}: {} record(s) were removed here",
                           *expect_seq - 1, *seq, *seq - *expect_seq));
        else
          fail(f, ln, *seq,
               fmt::format("seq {} follows seq {}: records were reordered or duplicated", *seq,
                           *expect_seq - 1));
        break;
      }
      std::string prev = get_str(*rec, "prev");
      if (!expect_seq) {
        rep.first_seq = *seq;
        if (*seq == 1) {
          expect_prev = kZeroHash;
          range.emplace();
        } else {
          rep.notes.push_back(fmt::format(
              "{} begins at seq {}: it continues files not given here (their records are not "
              "checked)",
              f.string(), *seq));
        }
      }
      if (!expect_prev.empty() && prev != expect_prev) {
        fail(f, ln, *seq,
             ln > 1 ? fmt::format("prev hash does not match line {}: that record was edited, or a "
                                  "record was removed or moved here",
                                  ln - 1)
                    : "prev hash does not match the end of the previous file");
        break;
      }
      if (is_checkpoint(*rec)) {
        auto size = get_u64(*rec, "tree_size");
        std::string root = get_str(*rec, "root");
        std::string head = get_str(*rec, "head");
        std::string msg = signed_message(get_str(*rec, "key_id"), size.value_or(0), root, head);
        auto sig = base64_decode(get_str(*rec, "sig"));
        if (!size || *size + 1 != *seq || head != prev) {
          fail(f, ln, *seq, "checkpoint does not describe the records before it");
          break;
        }
        if (get_str(*rec, "key_id") != key_id || !sig || sig->size() != crypto_sign_BYTES ||
            crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                        reinterpret_cast<const unsigned char*>(msg.data()),
                                        msg.size(),
                                        reinterpret_cast<const unsigned char*>(pk->data())) != 0) {
          fail(f, ln, *seq, "checkpoint signature is not valid for this public key");
          break;
        }
        auto saved = range_of(*rec);
        if (!saved || merkle::to_hex(saved->root()) != root) {
          fail(f, ln, *seq, "checkpoint's compact range does not match its root");
          break;
        }
        if (range && merkle::to_hex(range->root()) != root) {
          fail(f, ln, *seq,
               "Merkle root differs from the records before it: a record before this checkpoint "
               "was altered");
          break;
        }
        if (!range) range = std::move(saved);
        if (expect_prev.empty()) expect_prev = prev;  // now anchored by a signature
        ++rep.checkpoints;
        rep.last_checkpoint_seq = *seq;
      }
      auto leaf = merkle::leaf_hash(line);
      if (range) range->append(leaf);
      last_hash = merkle::to_hex(leaf);
      if (head_seq && *seq == *head_seq && last_hash != head_hash)
        fail(f, ln, *seq, "this record does not match the head file: it was altered");
      expect_prev = last_hash;
      expect_seq = *seq + 1;
      rep.last_seq = *seq;
      ++rep.records;
      last_file = f;
      last_line = ln;
    }
    if (rep.problem) return rep;
  }
  if (rep.records == 0) {
    rep.notes.push_back("no records");
    return rep;
  }
  if (head_seq && *head_seq > rep.last_seq)
    fail(last_file, last_line, rep.last_seq,
         fmt::format("the log ends at seq {} but its head file records seq {}: {} record(s) were "
                     "removed from the end",
                     rep.last_seq, *head_seq, *head_seq - rep.last_seq));
  if (rep.checkpoints == 0)
    rep.notes.push_back("no signed checkpoint yet: the records are covered by the hash chain only");
  else if (rep.last_checkpoint_seq < rep.last_seq)
    rep.notes.push_back(fmt::format(
        "{} record(s) after the last checkpoint (seq {}) are covered by the hash chain and head "
        "file, not yet by a signature (normal after a crash)",
        rep.last_seq - rep.last_checkpoint_seq, rep.last_checkpoint_seq));
  return rep;
}

std::vector<json::object> read_audit_records(const fs::path& dir, std::uint64_t before,
                                             std::size_t limit,
                                             const std::function<bool(const json::object&)>& keep) {
  std::vector<json::object> out;
  auto files = audit_files(dir);
  for (auto f = files.rbegin(); f != files.rend() && out.size() < limit; ++f) {
    std::string text = read_all(*f);
    auto lines = split_lines(text);
    for (auto it = lines.rbegin(); it != lines.rend() && out.size() < limit; ++it) {
      auto rec = parse_record(*it);
      if (!rec || is_checkpoint(*rec)) continue;
      auto seq = get_u64(*rec, "seq").value_or(0);
      if (before && seq >= before) continue;
      if (keep && !keep(*rec)) continue;
      rec->erase("prev");
      out.push_back(std::move(*rec));
    }
  }
  return out;
}

void for_each_audit_record(const fs::path& dir,
                           const std::function<void(const json::object&)>& visit) {
  std::string line;
  for (const auto& f : audit_files(dir)) {
    std::ifstream in(f, std::ios::binary);
    while (std::getline(in, line)) {
      auto rec = parse_record(line);
      if (rec && !is_checkpoint(*rec)) visit(*rec);
    }
  }
}

}  // namespace bastion::audit
