// The audit log writer: appends chained records, signs checkpoints, rotates
// files and resumes after a restart or another writer's turn. The lock
// protocol between writers is in writer_lock.cpp, verification in verify.cpp.
// Over 500 lines for a reason: resume, catch-up, append, checkpoint, rotation
// and the background sync are one state machine over one set of members under
// one mutex; splitting it would spread that invariant over files.
#include "audit/log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "audit/format.hpp"
#include "audit/reader.hpp"
#include "protocol/base64.hpp"
#include "storage/private_file.hpp"

namespace bastion::audit {

using protocol::base64_decode;
using protocol::base64_encode;

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
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

void AuditLog::begin_turn_locked() {
  if (writers_->holding()) return;  // alone since our last turn: nobody else wrote
  writers_->take();
  catch_up_locked();
}

void AuditLog::end_turn_locked() { writers_->release_if_shared(); }

AuditLog::AuditLog(AuditOptions options) : options_(std::move(options)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  storage::ensure_private_dir(options_.dir);
  try {
    writers_.emplace(options_.dir);
    // No other thread yet: mu_ is taken inside open_or_resume().
    writers_->take();  // key creation and resume race no other writer
    load_or_create_key();
    open_or_resume();
    end_turn_locked();
  } catch (...) {
    // The destructor does not run: release the files and the locks.
    if (writers_) writers_->leave();
    for (int fd : {fd_, head_fd_})
      if (fd >= 0) ::close(fd);
    writers_.reset();
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
  writers_->leave();
  if (fd_ >= 0) {
    ::fdatasync(fd_);
    ::close(fd_);
  }
  if (head_fd_ >= 0) ::close(head_fd_);
  writers_.reset();  // closes audit.lock: lets the next writer go on
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
  if (writers_->alone_at_start())
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

}  // namespace bastion::audit
