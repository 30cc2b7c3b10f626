// The audit log writer: appends chained records, signs checkpoints, rotates
// files and resumes after a restart or another writer's turn. The lock
// protocol between writers is in writer_lock.cpp, verification in verify.cpp.
// Over 700 lines for a reason: resume, catch-up, append, checkpoint, the
// signed head, rotation, retention, the disk reserve and the background tick
// are one state machine over one set of members under one mutex; splitting it
// would spread that invariant over files. The pure parts live beside it
// (key, head, retention, sanitize, format).
#include "audit/log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "audit/format.hpp"
#include "audit/head.hpp"
#include "audit/reader.hpp"
#include "audit/sanitize.hpp"
#include "metrics/metrics.hpp"
#include "storage/private_file.hpp"

namespace bastion::audit {

namespace fs = std::filesystem;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace {

// Age-based retention needs no rotation to happen: checked this often.
constexpr auto kRetentionEvery = std::chrono::seconds(60);
// A rotation a full disk postponed is tried again after this long.
constexpr auto kRotateRetry = std::chrono::seconds(1);

// 0 on success, else the errno of the failed write(2).
int write_all(int fd, std::string_view data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    off += static_cast<std::size_t>(n);
  }
  return 0;
}

// The active file, opened for appending (created when missing).
int open_active(const fs::path& file) {
  return ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

bool out_of_space(int e) { return e == ENOSPC || e == EDQUOT; }

// fdatasync on a dup of the log's fd, outside the lock, so appends go on
// (and a rotation may close the original meanwhile).
void sync_and_close(int fd) {
  if (fd < 0) return;
  ::fdatasync(fd);
  ::close(fd);
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
  storage::ensure_private_dir(options_.dir);
  try {
    writers_.emplace(options_.dir);
    // No other thread yet: mu_ is taken inside open_or_resume().
    writers_->take();  // key creation and resume race no other writer
    bool has_records = false;
    for (const auto& f : audit_files(options_.dir)) {
      std::error_code ec;
      has_records = has_records || fs::file_size(f, ec) > 0;
    }
    key_.emplace(AuditKey::load_or_create(options_.dir, !has_records));
    if (!options_.key_fingerprint.empty()) {
      auto pinned = parse_fingerprint(options_.key_fingerprint);
      if (!pinned || *pinned != key_->fingerprint())
        throw std::runtime_error(fmt::format(
            "audit: {} has fingerprint {} but audit.key_fingerprint pins {}: the signing key was "
            "replaced; restore the pinned key",
            (options_.dir / "audit.key").string(), key_->fingerprint(), options_.key_fingerprint));
    }
    if (key_->created())
      spdlog::warn(
          "audit: created the audit signing key {}, fingerprint {}; record this fingerprint "
          "elsewhere: `bastion audit verify --key {}` proves the log was signed by this key",
          (options_.dir / "audit.key").string(), key_->fingerprint(), key_->fingerprint());
    else
      spdlog::info("audit: log {} signed with key {}", options_.dir.string(), key_->fingerprint());
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
  writer_ = std::thread([this] { write_queued(); });
}

void AuditLog::stop_writer() {
  {
    // A flush still posted finds the log gone; one running ends first.
    std::lock_guard g(gate_->mu);
    gate_->log = nullptr;
  }
  {
    // The writer writes what is queued before it ends.
    std::lock_guard q(queue_mu_);
    writer_stop_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

AuditLog::~AuditLog() {
  stop_writer();
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
    bool last = writers_->writers() <= 1;
    if (fd_ >= 0) ::fdatasync(fd_);
    write_head_locked(seq_, prev_, last);
    spdlog::info("audit: closed at seq {}{}", seq_,
                 last ? ", head signed as a clean shutdown" : " (other writers go on)");
  } catch (...) {
  }
  writers_->leave();
  if (fd_ >= 0) ::close(fd_);
  if (head_fd_ >= 0) {
    ::fdatasync(head_fd_);
    ::close(head_fd_);
  }
  writers_.reset();  // closes audit.lock: lets the next writer go on
}

AuditLog::Resumed AuditLog::resume_state() {
  auto active = options_.dir / kActive;
  Resumed r;
  range_ = merkle::CompactRange();
  prev_ = merkle::Hash{};
  seq_ = 0;
  unsigned_ts_.clear();  // the stamps of what is read here are not noted: sign first
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
      r.torn = text.size() - keep;
      text.resize(keep);
      if (::truncate(it->c_str(), static_cast<off_t>(keep)) != 0)
        throw std::runtime_error(fmt::format("audit: cannot cut the torn tail of {}: {}",
                                             it->string(), std::strerror(errno)));
      spdlog::warn("audit: {} ended in a torn record ({} bytes, from a crash); cut off",
                   it->string(), r.torn);
    }
    auto lines = split_lines(text);
    if (lines.empty()) continue;
    r.fresh = false;
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
        if (get_str(*rec, "key_id") != key_->key_id())
          throw std::runtime_error(fmt::format(
              "audit: {} line {} is signed with key {}, but audit.key is {}: the signing key was "
              "replaced; restore the key that signed the log, or move the log files away to start "
              "a new log",
              it->string(), i + 1, get_str(*rec, "key_id"), key_->key_id()));
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
      if (i == from) r.hashes_from = *seq;
      r.hashes.push_back(last_leaf);
      range->append(last_leaf);
      since_checkpoint_ = is_checkpoint(*rec) ? 0 : since_checkpoint_ + 1;
      expect_seq = *seq + 1;
      expect_prev = merkle::to_hex(last_leaf);
      if (i + 1 == lines.size()) {
        r.clean = is_checkpoint(*rec) && get_str(*rec, "reason") == "shutdown";
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

namespace {

// The problem with `head` when the records after it are not within its
// window (head.hpp): it is older than the log it ends. Reads the files
// from the newest backwards down to the head's record.
std::optional<std::string> head_older_than_log(const fs::path& dir, const Head& head) {
  const std::int64_t started = now_ms();
  std::vector<std::pair<std::uint64_t, std::string>> after;  // (seq, ts), newest first
  auto files = audit_files(dir);
  bool reached = false;
  for (auto it = files.rbegin(); it != files.rend() && !reached; ++it) {
    std::string text = read_all(*it);
    auto lines = split_lines(text);
    for (auto l = lines.rbegin(); l != lines.rend() && !reached; ++l) {
      auto rec = parse_record(*l);
      auto seq = rec ? get_u64(*rec, "seq") : std::nullopt;
      reached = !seq || *seq <= head.seq;
      if (!reached) after.emplace_back(*seq, get_str(*rec, "ts"));
    }
  }
  HeadWindow window(head, started);
  for (auto a = after.rbegin(); a != after.rend(); ++a)
    if (auto what = window.add(a->first, a->second)) return what;
  return std::nullopt;
}

}  // namespace

void AuditLog::check_head(const Resumed& r) const {
  auto file = options_.dir / kHead;
  std::string text = read_all(file);
  auto refuse = [&](const std::string& what) {
    return std::runtime_error(fmt::format(
        "audit: {}; run `bastion audit verify {}`. Bastion does not extend a log whose end it "
        "cannot vouch for: restore the files, or move the log files away to start a new log",
        what, options_.dir.string()));
  };
  auto h = parse_head(text);
  if (!h)
    throw refuse(
        fmt::format("{} is {}, so records cut from the end of the log (seq {}) could not "
                    "be detected",
                    file.string(), text.empty() ? "missing or empty" : "garbled", seq_));
  if (!h->legacy &&
      !signature_valid(key_->public_key(), head_message(*h, key_->fingerprint()), h->sig))
    throw refuse(fmt::format("the signature of {} is not valid for key {}: the file was rewritten",
                             file.string(), key_->fingerprint()));
  if (h->seq > seq_)
    throw refuse(fmt::format(
        "the log ends at seq {} but {} (signed {}) covers seq {}: {} record(s) "
        "were cut from the end",
        seq_, file.string(), h->legacy ? "by an earlier version" : h->ts, h->seq, h->seq - seq_));
  if (h->seq >= r.hashes_from && h->seq - r.hashes_from < r.hashes.size() &&
      merkle::to_hex(r.hashes[h->seq - r.hashes_from]) != h->hash)
    throw refuse(fmt::format("record seq {} is not the one {} covers: it was altered", h->seq,
                             file.string()));
  // An older copy of the head put back on a log cut short: a new head signed
  // now would cover the cut.
  if (!h->legacy)
    if (auto what = head_older_than_log(options_.dir, *h)) throw refuse(*what);
}

void AuditLog::open_or_resume() {
  auto active = options_.dir / kActive;
  // A rotation that stopped between its two renames leaves the next file.
  std::error_code ec;
  fs::remove(options_.dir / kNext, ec);
  auto r = resume_state();
  if (!r.fresh) check_head(r);
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
  renew_reserve_locked();
  if (r.fresh) file_first_seq_ = 1;
  if (file_bytes_ == 0 && !r.fresh) {
    // A new active file starts with a checkpoint, so it verifies on its own.
    checkpoint_locked("periodic", true);
  }
  json::object start{{"event_type", "audit_start"},
                     {"key_id", key_->key_id()},
                     {"key_fingerprint", key_->fingerprint()},
                     {"public_key", key_->public_key_b64()}};
  // With other writers running, the last record is simply theirs.
  if (writers_->alone_at_start())
    start["clean_shutdown"] = r.fresh || r.clean;
  else
    start["other_writers"] = true;
  if (r.torn) start["torn_bytes_removed"] = r.torn;
  write_record_locked(std::move(start));
  // The genesis (and the key it names) is signed at once.
  if (r.fresh) checkpoint_locked("genesis", true);
  if (options_.sync != AuditOptions::Sync::kNever && ::fdatasync(fd_) == 0) dirty_ = false;
  write_head_locked(seq_, prev_, false);
  // Once per start: a head file created now must not come back empty after
  // a power loss (later rewrites in place leave the old or the new one).
  ::fdatasync(head_fd_);
  apply_retention_locked();
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
    reserved_to_ = 0;
    if (fd_ < 0) {
      ++failures_;
      set_unavailable_locked(
          fmt::format("cannot open {}: {}", active.string(), std::strerror(errno)));
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
  // Its stamp counts for our signing as our own records' do (a record
  // without one: our next write signs first, as when nothing is known).
  if (auto ts = rec ? parse_ts_ms(get_str(*rec, "ts")) : std::nullopt)
    note_unsigned_locked(seq_, *ts);
  else
    unsigned_ts_.clear();
  if (rec && is_checkpoint(*rec)) {
    since_checkpoint_ = 0;
    last_checkpoint_ = steady::now();
  } else {
    ++since_checkpoint_;
  }
}

namespace {

// The event's members as JSON, without the members the framing adds.
std::string event_body(json::object& event) {
  event.erase("seq");
  event.erase("ts");
  event.erase("prev");
  return json::serialize(event);
}

// {"seq":N,"ts":"...", <the event's members>, "prev":"..."}: framed by hand so
// the event is serialized once, not copied into a new object. Appends the
// line without its newline to `out`.
void frame_record(std::string& out, std::uint64_t seq, std::string_view ts, std::string_view body,
                  const merkle::Hash& prev) {
  std::array<char, 24> digits;
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), seq);
  out += R"({"seq":)";
  out.append(digits.data(), end);
  out += R"(,"ts":")";
  out += ts;
  out += '"';
  if (body.size() > 2) {
    out += ',';
    out.append(body.substr(1, body.size() - 2));
  }
  out += R"(,"prev":")";
  merkle::append_hex(out, prev);
  out += "\"}";
}

}  // namespace

std::uint64_t AuditLog::append(json::object event) {
  // Outside the lock: sanitizing and serializing touch only the event.
  sanitize_event(event);
  return append_body(event_body(event));
}

std::uint64_t AuditLog::append_body(std::string body) {
  // On this stack, without a completion: whoever writes it only marks it
  // done (under mu_), so it is this caller's to read until it returns.
  Pending mine{std::move(body)};
  enqueue(&mine, false);  // written by this thread unless a writer is at it already
  std::vector<std::unique_ptr<Pending>> finished;
  {
    std::lock_guard lock(mu_);
    // The thread that held mu_ before us may have written ours with its own.
    while (!mine.done) drain_locked(finished);
  }
  complete_all(finished);
  return mine.seq;
}

void AuditLog::append_async(json::object event, std::unique_ptr<Completion> done) {
  sanitize_event(event);
  append_text_async(event_body(event), std::move(done));
}

std::uint64_t AuditLog::append_text(std::string body) { return append_body(std::move(body)); }

void AuditLog::append_text_async(std::string body, std::unique_ptr<Completion> done) {
  auto p = std::make_unique<Pending>();
  p->body = std::move(body);
  p->completion = std::move(done);
  if (enqueue(p.get(), true)) {
    p.release();  // the queue's now; the writer frees it once completed
    return;
  }
  // stop_writer() was called: the writer may be gone, so this caller writes
  // it (as append() does) and completes it the same way, on its executor.
  std::vector<std::unique_ptr<Completion>> one;
  one.push_back(std::move(p->completion));
  one.front()->seq = append_body(std::move(p->body));
  Completion* c = one.front().get();
  c->post_all(std::move(one));
}

bool AuditLog::wake_writer_locked() {
  if (!writer_idle_) return false;
  writer_idle_ = false;
  return true;
}

bool AuditLog::enqueue(Pending* p, bool for_writer) {
  bool notify = false;
  {
    // The stop check and the push under one lock: a record queued for the
    // writer is one it takes before it ends.
    std::lock_guard q(queue_mu_);
    if (for_writer && writer_stop_) return false;
    queue_.push_back(p);
    queued_bytes_.store(queued_bytes_.load(std::memory_order_relaxed) + p->body.size(),
                        std::memory_order_relaxed);
    if (for_writer && writer_waits_for_ != 0) {
      // The writer thread is at it, waiting for more: it takes this one.
      if (queue_.size() >= writer_waits_for_) {
        writer_waits_for_ = 0;  // as many as it waits for: write now
        notify = true;
      }
    } else if (for_writer && options_.sync == AuditOptions::Sync::kAlways) {
      notify = wake_writer_locked();  // an fdatasync per batch: never on an I/O thread
    } else if (for_writer && !flush_posted_) {
      // Behind the handlers queued in the caller's context now: the records
      // they queue go in the same write. Under queue_mu_, as `p` may be
      // written and freed once it is released.
      try {
        p->completion->post_flush([gate = gate_] {
          std::lock_guard g(gate->mu);
          if (gate->log) gate->log->flush_on_caller();
        });
        flush_posted_ = true;
      } catch (...) {  // no memory for the handler: the writer thread writes it
        notify = wake_writer_locked();
      }
    }
  }
  if (notify) queue_cv_.notify_one();
  return true;
}

bool AuditLog::rotation_due_locked() const {
  return file_bytes_ >= options_.max_file_bytes && steady::now() >= next_rotate_try_;
}

void AuditLog::flush_on_caller() {
  {
    std::lock_guard q(queue_mu_);
    flush_posted_ = false;  // what is queued from now on posts its own flush
    if (queue_.empty()) return;
  }
  std::vector<std::unique_ptr<Pending>> finished;
  {
    // Only when it is quick: another thread writing (or rotating), another
    // process's turn or a rotation due is the writer thread's to wait for.
    std::unique_lock lock(mu_, std::try_to_lock);
    if (lock.owns_lock() && writers_->holding() && !rotation_due_locked() &&
        drain_locked(finished, false) > 0)
      caller_writes_.fetch_add(1, std::memory_order_relaxed);
  }
  complete_all(finished);
  bool notify = false;
  {
    std::lock_guard q(queue_mu_);
    if (!queue_.empty() && !flush_posted_) notify = wake_writer_locked();
  }
  if (notify) queue_cv_.notify_one();
}

std::size_t AuditLog::drain_locked(std::vector<std::unique_ptr<Pending>>& finished,
                                   bool may_rotate) {
  {
    std::lock_guard q(queue_mu_);
    std::size_t bytes = 0;
    while (!queue_.empty() &&
           (batch_.empty() || (batch_.size() < options_.max_batch_records &&
                               bytes + queue_.front()->body.size() <= options_.max_batch_bytes))) {
      bytes += queue_.front()->body.size();
      batch_.push_back(queue_.front());
      queue_.pop_front();
    }
    queued_bytes_.store(queued_bytes_.load(std::memory_order_relaxed) - bytes,
                        std::memory_order_relaxed);
  }
  if (batch_.empty()) return 0;
  if (batch_.size() > largest_batch_.load(std::memory_order_relaxed))
    largest_batch_.store(batch_.size(), std::memory_order_relaxed);
  try {
    Turn turn(*this);
    if (write_batch_locked(batch_)) {
      if (since_checkpoint_ >= options_.checkpoint_every) checkpoint_locked("periodic", false);
      if (may_rotate && rotation_due_locked()) rotate_locked();
    }
  } catch (const std::exception& e) {
    // Catching up with another writer's records can throw (they do not
    // continue the chain); the writer thread must go on, and the batch is
    // as unwritten as on a failed write unless its seqs were assigned.
    for (Pending* p : batch_)
      if (p->seq == 0) ++failures_;
    set_unavailable_locked(fmt::format("cannot append to {}: {}", options_.dir.string(), e.what()));
  }
  finished.reserve(finished.size() + batch_.size());  // one allocation, not one per doubling
  for (Pending* p : batch_) {
    p->done = true;
    if (p->completion) finished.emplace_back(p);  // the heap Pendings of append_async
  }
  const std::size_t n = batch_.size();
  batch_.clear();
  return n;
}

void AuditLog::complete_all(std::vector<std::unique_ptr<Pending>>& finished) {
  // Grouped by context (usually one: the I/O threads' io_context), in order.
  while (!finished.empty()) {
    const void* ctx = finished.front()->completion->context();
    auto rest = std::stable_partition(finished.begin(), finished.end(), [ctx](const auto& p) {
      return p->completion->context() == ctx;
    });
    std::vector<std::unique_ptr<Completion>> group;
    group.reserve(static_cast<std::size_t>(rest - finished.begin()));
    for (auto it = finished.begin(); it != rest; ++it) {
      (*it)->completion->seq = (*it)->seq;
      group.push_back(std::move((*it)->completion));
    }
    finished.erase(finished.begin(), rest);
    Completion* first = group.front().get();
    first->post_all(std::move(group));
  }
}

void AuditLog::write_queued() {
  std::vector<std::unique_ptr<Pending>> finished;
  std::size_t last = 0;  // records the last write carried
  std::unique_lock q(queue_mu_);
  for (;;) {
    if (queue_.empty()) {
      if (writer_stop_) break;
      writer_idle_ = true;
      queue_cv_.wait(q);
      writer_idle_ = false;
      continue;
    }
    // Adaptive group commit: calls came together last time, so more records
    // are likely on their way; wait (bounded) for them. A lone call's write
    // carried one record, so the next lone call is written at once.
    if (last > 1 && options_.commit_delay.count() > 0) {
      const std::size_t want = std::min(2 * last, options_.max_batch_records);
      const auto until = steady::now() + options_.commit_delay;
      while (!writer_stop_ && queue_.size() < want) {
        writer_waits_for_ = want;
        if (queue_cv_.wait_until(q, until) == std::cv_status::timeout) break;
      }
      writer_waits_for_ = 0;
    }
    q.unlock();
    {
      std::lock_guard lock(mu_);
      last = drain_locked(finished);
    }
    // Outside mu_: the completions post to the callers' executors.
    complete_all(finished);
    q.lock();
  }
}

bool AuditLog::write_record_locked(json::object event) {
  Pending one{event_body(event)};
  return write_batch_locked({&one});
}

bool AuditLog::write_batch_locked(const std::vector<Pending*>& batch) {
  if (batch.empty()) return true;
  const auto now = options_.clock ? options_.clock() : std::chrono::system_clock::now();
  const std::int64_t ts_ms =
      std::chrono::floor<std::chrono::milliseconds>(now).time_since_epoch().count();
  sign_before_locked(ts_ms);
  const std::string_view ts = stamps_.format(now);
  std::string& buf = batch_buf_;
  buf.clear();
  // Each line's hash is the next one's prev: framed in order, hashed as we go.
  std::vector<merkle::Hash>& hashes = batch_hashes_;
  hashes.clear();
  merkle::Hash prev = prev_;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::size_t start = buf.size();
    frame_record(buf, seq_ + 1 + i, ts, batch[i]->body, prev);
    prev = merkle::leaf_hash(std::string_view(buf).substr(start));
    hashes.push_back(prev);
    buf += '\n';
  }
  // Renewed at half the reserve, so the records of calls already running
  // still fit when it cannot be.
  if (reserve_supported_ && file_bytes_ + buf.size() + options_.reserve_bytes / 2 > reserved_to_)
    renew_reserve_locked();
  if (int err = write_all(fd_, buf)) {
    // Nothing of a failed batch may stay: the next record would follow a
    // torn line.
    if (::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0)
      spdlog::error("audit: cannot cut a partly written record off {}: {}",
                    (options_.dir / kActive).string(), std::strerror(errno));
    failures_ += batch.size();
    failed_writes_ += batch.size();
    metrics::Metrics::global().add("bastion_audit_write_failures_total", "",
                                   static_cast<double>(batch.size()));
    set_unavailable_locked(fmt::format("cannot write record {} to {}: {}", seq_ + 1,
                                       (options_.dir / kActive).string(), std::strerror(err)));
    for (Pending* p : batch) p->seq = 0;
    return false;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i]->seq = ++seq_;
    range_.append(hashes[i]);
  }
  prev_ = hashes.back();
  note_unsigned_locked(seq_, ts_ms);
  file_bytes_ += buf.size();
  writes_total_.add();
  records_total_.add(static_cast<double>(batch.size()));
  since_checkpoint_ += batch.size();
  dirty_ = true;
  if (options_.sync == AuditOptions::Sync::kAlways) {
    ::fdatasync(fd_);
    dirty_ = false;
    write_head_locked(seq_, prev_, false);
  }
  return true;
}

void AuditLog::write_head_locked(std::uint64_t seq, const merkle::Hash& hash, bool shutdown) {
  // Never back over a newer head of ours (the background's snapshot, signed
  // after sign_before_locked() signed a newer one): the records between
  // would look unsigned, their stamps forgotten.
  if (seq == 0 || head_fd_ < 0 || seq < head_seq_) return;
  if (!shutdown && writers_->writers() > 1) {
    // Another writer may have signed a newer head since we caught up.
    std::string cur(kHeadFileBytes, '\0');
    if (::pread(head_fd_, cur.data(), cur.size(), 0) == static_cast<ssize_t>(cur.size()))
      if (auto h = parse_head(cur); h && !h->legacy && h->seq >= seq) {
        covered_locked(seq);
        return;
      }
  }
  Head h;
  h.seq = seq;
  h.hash = merkle::to_hex(hash);
  h.ts = now_iso8601();
  h.shutdown = shutdown;
  h.interval_ms = head_interval_ms();
  h.key_id = key_->key_id();
  h.sig = key_->sign(head_message(h, key_->fingerprint()));
  std::string text = format_head(h);
  if (::pwrite(head_fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    ++failures_;
    spdlog::error("audit: cannot update the head file: {}", std::strerror(errno));
    return;
  }
  covered_locked(seq);
}

void AuditLog::covered_locked(std::uint64_t seq) {
  head_seq_ = seq;
  while (!unsigned_ts_.empty() && unsigned_ts_.front().first <= seq) unsigned_ts_.pop_front();
}

std::uint64_t AuditLog::head_interval_ms() const {
  return options_.sync == AuditOptions::Sync::kAlways
             ? 0
             : static_cast<std::uint64_t>(options_.sign_interval.count());
}

void AuditLog::sign_before_locked(std::int64_t ts_ms) {
  if (seq_ <= head_seq_) return;
  if (!unsigned_ts_.empty() &&
      ts_ms - unsigned_ts_.front().second <= unsigned_span_limit_ms(head_interval_ms()))
    return;
  // The background signing fell behind (a slow disk, a paused process) or
  // the clock stepped: sign here, so the records after the head never span
  // more than the limit verify holds them to. With sync: interval the head
  // covers only what is on disk.
  if (options_.sync == AuditOptions::Sync::kInterval && ::fdatasync(fd_) == 0) dirty_ = false;
  write_head_locked(seq_, prev_, false);
}

void AuditLog::note_unsigned_locked(std::uint64_t seq, std::int64_t ts_ms) {
  if (seq <= head_seq_) return;
  // A later record stamped no later makes the ones before it irrelevant to
  // the minimum: they leave the window first.
  while (!unsigned_ts_.empty() && unsigned_ts_.back().second >= ts_ms) unsigned_ts_.pop_back();
  unsigned_ts_.emplace_back(seq, ts_ms);
}

void AuditLog::checkpoint() {
  std::lock_guard lock(mu_);
  Turn turn(*this);
  checkpoint_locked("periodic", false);
}

bool AuditLog::checkpoint_locked(std::string_view reason, bool force) {
  if (since_checkpoint_ == 0 && !force) return true;
  std::string root = merkle::to_hex(range_.root());
  std::string head = merkle::to_hex(prev_);
  std::string sig = key_->sign(signed_message(key_->key_id(), range_.size(), root, head));
  json::array range;
  for (const auto& h : range_.hashes()) range.emplace_back(merkle::to_hex(h));
  bool ok = write_record_locked(json::object{{"event_type", kCheckpoint},
                                             {"reason", reason},
                                             {"tree_size", range_.size()},
                                             {"root", root},
                                             {"head", head},
                                             {"key_id", key_->key_id()},
                                             {"public_key", key_->public_key_b64()},
                                             {"range", std::move(range)},
                                             {"sig", std::move(sig)}});
  if (!ok) return false;
  since_checkpoint_ = 0;
  last_checkpoint_ = steady::now();
  return true;
}

void AuditLog::rotate_locked() {
  auto active = options_.dir / kActive;
  auto next = options_.dir / kNext;
  // The next active file exists, with its disk reserve, before the current
  // one is renamed: a full disk postpones the rotation instead of leaving no
  // file to write to.
  int nfd = ::open(next.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  auto postpone = [&](const std::string& why) {
    if (nfd >= 0) {
      ::close(nfd);
      ::unlink(next.c_str());
    }
    next_rotate_try_ = steady::now() + kRotateRetry;
    set_unavailable_locked(why);
  };
  if (nfd < 0)
    return postpone(fmt::format("cannot create {}: {}", next.string(), std::strerror(errno)));
  std::uint64_t next_reserved = 0;
  if (reserve_supported_ && options_.reserve_bytes > 0) {
    if (::fallocate(nfd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(options_.reserve_bytes)) == 0)
      next_reserved = options_.reserve_bytes;
    else if (out_of_space(errno))
      return postpone(fmt::format("no disk space for a new audit file in {}: {}",
                                  options_.dir.string(), std::strerror(errno)));
  }
  // The file ends with a signed checkpoint, so it verifies on its own.
  if (!checkpoint_locked("rotate", true)) return postpone("cannot write the rotation checkpoint");
  auto target = options_.dir / rotated_name(file_first_seq_);
  if (::rename(active.c_str(), target.c_str()) != 0)
    return postpone(fmt::format("cannot rotate {}: {}", active.string(), std::strerror(errno)));
  if (::rename(next.c_str(), active.c_str()) != 0) {
    int e = errno;
    ::rename(target.c_str(), active.c_str());  // put it back: our fd still writes it
    return postpone(fmt::format("cannot rotate {}: {}", active.string(), std::strerror(e)));
  }
  storage::sync_dir(options_.dir);
  ::fdatasync(fd_);
  // Gives the old file's unused reserve back.
  if (::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0)
    spdlog::warn("audit: cannot release the disk reserve of {}: {}", target.string(),
                 std::strerror(errno));
  ::close(fd_);
  fd_ = nfd;
  reserved_to_ = next_reserved;
  file_first_seq_ = seq_ + 1;
  file_bytes_ = 0;
  checkpoint_locked("periodic", true);
  apply_retention_locked();
}

void AuditLog::apply_retention_locked() {
  last_retention_ = steady::now();
  std::vector<RotatedFile> rotated;
  for (const auto& f : audit_files(options_.dir)) {
    if (f.filename() == kActive) continue;
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) continue;
    rotated.push_back({f, static_cast<std::uint64_t>(st.st_size),
                       std::chrono::system_clock::from_time_t(st.st_mtime)});
  }
  auto d = retention_decision(rotated, file_bytes_, options_.retention,
                              std::chrono::system_clock::now());
  if (d.remove == 0) return;
  std::uint64_t first = file_first_seq_;
  if (d.remove < rotated.size())
    first = rotated_first_seq(rotated[d.remove].path).value_or(file_first_seq_);
  json::array names;
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < d.remove; ++i) {
    names.emplace_back(rotated[i].path.filename().string());
    bytes += rotated[i].bytes;
  }
  // Recorded, signed and on disk before anything is removed: verify accepts
  // the log beginning at `first_seq` only because this record says so.
  if (!write_record_locked(json::object{{"event_type", kRetention},
                                        {"reason", d.reason},
                                        {"removed", std::move(names)},
                                        {"removed_bytes", bytes},
                                        {"first_seq", first}}) ||
      !checkpoint_locked("retention", true))
    return;
  if (::fdatasync(fd_) != 0) return;
  dirty_ = false;
  for (std::size_t i = 0; i < d.remove; ++i) {
    std::error_code ec;
    fs::remove(rotated[i].path, ec);
    if (ec)
      spdlog::error("audit: retention cannot remove {}: {}", rotated[i].path.string(),
                    ec.message());
  }
  storage::sync_dir(options_.dir);
  spdlog::info("audit: retention ({}) removed {} file(s), {} bytes; the log now begins at seq {}",
               d.reason, d.remove, bytes, first);
}

bool AuditLog::renew_reserve_locked() {
  if (!reserve_supported_ || options_.reserve_bytes == 0 || fd_ < 0) return true;
  if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(file_bytes_),
                  static_cast<off_t>(options_.reserve_bytes)) == 0) {
    reserved_to_ = file_bytes_ + options_.reserve_bytes;
    return true;
  }
  int e = errno;
  if (!out_of_space(e)) {
    // EOPNOTSUPP and the like: a full disk shows only when a write fails.
    reserve_supported_ = false;
    spdlog::info("audit: {} cannot reserve disk space ahead ({})", options_.dir.string(),
                 std::strerror(e));
    return true;
  }
  set_unavailable_locked(fmt::format("cannot reserve {} bytes of disk space in {}: {}",
                                     options_.reserve_bytes, options_.dir.string(),
                                     std::strerror(e)));
  return false;
}

void AuditLog::set_unavailable_locked(const std::string& why) {
  if (!available_.load(std::memory_order_relaxed)) return;
  unavailable_reason_ = why;
  unavailable_since_ = now_iso8601();
  available_.store(false, std::memory_order_release);
  spdlog::error("audit: {}; calls are refused until the audit log can record them", why);
}

void AuditLog::try_recover_locked() {
  if (reserve_supported_ && options_.reserve_bytes > 0 && fd_ >= 0) {
    if (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(file_bytes_),
                    static_cast<off_t>(options_.reserve_bytes)) != 0)
      return;  // still full
    reserved_to_ = file_bytes_ + options_.reserve_bytes;
  }
  std::uint64_t refused = refused_.load(std::memory_order_relaxed);
  // The outage itself is an audit event.
  if (!write_record_locked(json::object{{"event_type", "audit_unavailable"},
                                        {"since", unavailable_since_},
                                        {"reason", unavailable_reason_},
                                        {"failed_writes", failed_writes_},
                                        {"refused_calls", refused}}))
    return;
  refused_.fetch_sub(refused, std::memory_order_relaxed);
  failed_writes_ = 0;
  checkpoint_locked("recovered", true);  // signs the outage record at once
  available_.store(true, std::memory_order_release);
  spdlog::warn("audit: writing again (unavailable since {}: {}); calls are accepted again",
               unavailable_since_, unavailable_reason_);
}

int AuditLog::take_sync_fd_locked() {
  dirty_ = false;
  return ::fcntl(fd_, F_DUPFD_CLOEXEC, 3);  // never inherited by a child
}

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
  auto tick = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(1), std::min<std::chrono::milliseconds>(
                                        {options_.sync_interval, options_.checkpoint_interval,
                                         options_.sign_interval, std::chrono::milliseconds(200)}));
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, tick);
    if (stop_) break;
    auto now = steady::now();
    bool cp_due = since_checkpoint_ > 0 && now - last_checkpoint_ >= options_.checkpoint_interval;
    bool retention_due = now - last_retention_ >= kRetentionEvery;
    bool recover = !available_.load(std::memory_order_relaxed);
    // Every tick (at most sign_interval apart) that found new records: the
    // newest record waits at most one tick, plus the fdatasync, for its
    // signature.
    bool head_due = options_.sync != AuditOptions::Sync::kAlways && seq_ != head_seq_;
    std::uint64_t head_seq = seq_;
    merkle::Hash head_hash = prev_;
    if (cp_due || retention_due || recover || head_due) {
      Turn turn(*this);  // reads in what other writers appended
      if (recover) try_recover_locked();
      if (cp_due) checkpoint_locked("periodic", false);
      if (retention_due) apply_retention_locked();
      head_seq = seq_;
      head_hash = prev_;
    } else {
      end_turn_locked();  // a writer that joined while we were idle gets the lock
    }
    // With sync: interval the head covers only what is on disk: sync first.
    bool write_head = head_due && head_seq != head_seq_;
    if (options_.sync == AuditOptions::Sync::kInterval && (dirty_ || write_head)) {
      int fd = take_sync_fd_locked();
      lock.unlock();
      sync_and_close(fd);
      lock.lock();
    }
    if (write_head && !stop_) {
      Turn turn(*this);
      write_head_locked(head_seq, head_hash, false);
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

std::string AuditLog::public_key() const { return key_->public_key_b64(); }
std::string AuditLog::key_id() const { return key_->key_id(); }
std::string AuditLog::fingerprint() const { return key_->fingerprint(); }

}  // namespace bastion::audit
