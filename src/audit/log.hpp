// The tamper-evident audit log: one JSON line per security event, in files
// under one directory.
//
//   audit.log                  the active file
//   audit-<first seq>.log      rotated files (12 digits, so they sort)
//   audit.log.head             signed statement of where the log ends (head.hpp)
//   audit.key / audit.pub      Ed25519 key that signs checkpoints and the head (key.hpp)
//   audit.lock                 held while a process appends (flock)
//   audit.writers              read-locked by every writing process; maps
//                              their count, so a lone writer keeps audit.lock
//
// Several processes may write one directory (each `bastion stdio` a client
// spawns, next to a `bastion serve`): they take turns under audit.lock, and
// each first reads the records the others appended (or follows their
// rotation), so they extend one chain.
//
// Every record carries `seq` (1, 2, ... across files), `ts`, the event's own
// fields and `prev`: the hash of the previous record's line (its RFC 6962 leaf
// hash, SHA-256(0x00 || line)), so an edited, removed or reordered record
// breaks the chain at that point. The first record (genesis, seq 1, prev all
// zeros) is an `audit_start` naming the key's fingerprint; a checkpoint
// signs it at once. Every `checkpoint_every` records, every
// `checkpoint_interval`, at rotation, retention and shutdown, a signed
// `audit_checkpoint` attests the RFC 6962 Merkle root of all records before
// it, the chain head and the tree size; it carries the compact range and the
// public key, so verification can begin at any checkpoint. The end of the log
// is anchored by the signed head file, at most `sign_interval` behind the
// newest record. Without the signing key nothing up to the signed head can be
// rewritten, removed or cut off undetected.
//
// Records never contain raw PII or secrets: callers pass types, counts and
// names only, and every record passes sanitize.hpp (no query strings, tokens
// or headers) where it is built.
//
// Durability: append() returns after write(2), and async_append()
// (async_append.hpp) completes only then, so a record whose call was
// answered survives `kill -9`; `sync` chooses when it also reaches the disk
// (fdatasync per batch of records, or every sync_interval).
//
// Group commit: appends queue their serialized records, and one write(2)
// carries what is queued (with `sync: always`, one fdatasync and one signed
// head), framed (seq, ts, prev) in order; then each async append completes.
// A call suspended on async_append() keeps no I/O thread waiting, so the
// records of many connections share a write. Who writes:
//  - An async append that finds no write scheduled posts one (a flush) to
//    its caller's executor, behind the handlers already queued there: the
//    other connections' requests that arrived together queue their records
//    first, and the flush writes them all on that I/O thread, with no thread
//    hand-over (no futex wake and wait per batch). It writes only when that
//    is quick: the log mutex free, audit.lock held already (no other
//    process waiting for it), no rotation due and no fdatasync per batch
//    (`sync: always`). Otherwise, and for what one batch leaves queued,
//  - the writer thread (one per log) takes the queue, and waits where the
//    I/O threads must not (the lock of another process, a rotation's sync).
//  - A synchronous append() writes the queue itself when it gets the writer
//    mutex first.
// One write carries at most max_batch_records / max_batch_bytes; beyond
// max_queued_bytes waiting, backlogged() turns true and the audit filter
// refuses new calls until the writer catches up, so memory stays bounded
// however many calls arrive.
//
// Disk full: the writer keeps `reserve_bytes` allocated ahead of the active
// file's end (fallocate). When that reserve cannot be renewed, or a write
// fails, available() turns false: the audit filter then refuses new calls
// (fail closed) while the calls already running still get their records
// written from the reserve. Every tick the writer tries again; once space is
// back it records the outage (`audit_unavailable`) and available() turns
// true. A record that could not be written is cut off again, never left torn.
//
// Retention: rotated files beyond the retention limits (retention.hpp) are
// removed oldest first, after a signed `audit_retention` record names them
// and the seq the log now begins at. Verification accepts that beginning and
// no later one, so a hand deletion is still detected.
//
// Thread-safety: AuditLog is safe to use from many threads.
//
// Around it: writer_lock.hpp (the protocol between writing processes),
// verify.hpp (verification), reader.hpp (reading records for tools), format.hpp
// (record parsing shared by all of them), key.hpp, head.hpp, retention.hpp,
// sanitize.hpp, merkle.hpp and filter.hpp.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/format.hpp"
#include "audit/key.hpp"
#include "audit/merkle.hpp"
#include "audit/retention.hpp"
#include "audit/writer_lock.hpp"
#include "metrics/metrics.hpp"

namespace bastion::audit {

struct AuditOptions {
  std::filesystem::path dir = "data/audit";  // created 0700 (config: audit.dir)
  enum class Sync { kAlways, kInterval, kNever };
  Sync sync = Sync::kInterval;                   // when records reach the disk
  std::chrono::milliseconds sync_interval{200};  // with kInterval
  // The signed head covers a record at most this long after it is written
  // (with kInterval: once it is on disk): the window in which records cut
  // from the end after a crash go unnoticed. kAlways signs every record.
  std::chrono::milliseconds sign_interval{200};
  std::uint64_t checkpoint_every = 1000;                 // records between signed checkpoints
  std::chrono::milliseconds checkpoint_interval{60000};  // and at most this long apart
  std::uint64_t max_file_bytes = 64ull << 20;            // rotate the active file beyond this
  RetentionOptions retention;                            // which rotated files are removed
  // Disk space kept allocated ahead of the active file's end, so the calls
  // running when the disk fills still get their records.
  std::uint64_t reserve_bytes = 1ull << 20;
  // When set, audit.key must have this fingerprint ("SHA256:..."), else the
  // log refuses to open (config: audit.key_fingerprint).
  std::string key_fingerprint;
  // Group commit: one write(2) carries at most this many records and about
  // this many bytes (always at least one record); the rest go in the next.
  std::size_t max_batch_records = 1024;
  std::size_t max_batch_bytes = 256u << 10;
  // Serialized records waiting for the writer beyond this: backlogged().
  std::size_t max_queued_bytes = 16u << 20;
  // When the last write carried several records (calls are arriving
  // together), the writer waits up to this long for twice as many before it
  // writes again, so that fewer, larger writes carry them; a call then waits
  // at most this much longer for its answer. A lone call never waits: its
  // write carried one record. 0: write at once.
  std::chrono::microseconds commit_delay{200};
  // Where records' `ts` come from; empty: the system clock. For tests that
  // step the clock.
  std::function<std::chrono::system_clock::time_point()> clock;
};

class AuditLog {
 public:
  // Opens (or creates) the log and its key and resumes the chain. A torn last
  // line from a crash is cut off and noted in an `audit_start` record. Throws
  // std::runtime_error when the existing log cannot be resumed: it was edited,
  // records were cut from its end (the signed head says more), its key is
  // missing or not the one that signed it or the one pinned. The message says
  // what to run.
  explicit AuditLog(AuditOptions options);
  // Writes a final checkpoint, syncs and signs the head (marked `shutdown`
  // when this is the last writer).
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one event (its fields; seq, ts and prev are added; sanitized).
  // Returns the record's seq, or 0 when it could not be written (then
  // available() is false). Never throws for I/O.
  std::uint64_t append(boost::json::object event);

  // How an asynchronous append hears its result: the record's seq, or 0 when
  // it could not be written. The thread that wrote the batch (the writer
  // thread, or one whose append() did) groups the batch's completions by
  // context() and calls post_all() on the first of each group once: one
  // hand-over to an I/O thread per batch, not per record.
  class Completion {
   public:
    virtual ~Completion() = default;
    // Where the caller's handler runs (an Asio execution context); equal
    // keys may be completed by one function run there.
    virtual const void* context() const = 0;
    // Runs, in that context, invoke() on each of `all` (this one among them).
    virtual void post_all(std::vector<std::unique_ptr<Completion>> all) = 0;
    // In the context: hands `seq` to the caller's handler on its executor.
    virtual void invoke() = 0;
    // Runs `fn` in the context, after the handlers queued there now (the
    // flush that writes the records queued meanwhile).
    virtual void post_flush(std::function<void()> fn) = 0;
    std::uint64_t seq = 0;
  };
  // Queues one event (sanitized and serialized here, on the caller's thread)
  // for the writer thread and returns at once. async_append.hpp wraps it as
  // an Asio operation. Never throws for I/O.
  void append_async(boost::json::object event, std::unique_ptr<Completion> done);
  // append() and append_async() of an event already written as text:
  // `body` is a JSON object's text whose members sanitize_event() would
  // leave as they are and name none of seq, ts and prev (AuditFilter writes
  // its call records so, without building them as JSON values first).
  std::uint64_t append_text(std::string body);
  void append_text_async(std::string body, std::unique_ptr<Completion> done);
  // Writes every record queued for the writer thread (their callers hear of
  // them), then ends that thread; appends after it are written by their
  // caller's thread. Call it while the execution contexts of pending async
  // appends still exist (App: before its io_context goes): a completion
  // handed to a destroyed context would be a use after free. The destructor
  // calls it; not to be called from two threads at once.
  void stop_writer();
  // More than max_queued_bytes of records wait for the writer: callers
  // refuse new work that must be audited until it catches up. Lock-free.
  bool backlogged() const {
    return queued_bytes_.load(std::memory_order_relaxed) > options_.max_queued_bytes;
  }
  // The largest batch one write(2) carried so far (records): for tests and
  // benchmarks.
  std::size_t largest_batch() const { return largest_batch_.load(std::memory_order_relaxed); }
  // Writes done by a flush on a caller's thread (not the writer thread): for
  // tests and benchmarks.
  std::uint64_t caller_writes() const { return caller_writes_.load(std::memory_order_relaxed); }
  // False while records cannot be written or the disk reserve cannot be
  // renewed: callers refuse work that must be audited. Lock-free.
  bool available() const { return available_.load(std::memory_order_acquire); }
  // Counts a call refused because !available(), for the outage record.
  void note_refused() { refused_.fetch_add(1, std::memory_order_relaxed); }
  // Writes a signed checkpoint now (if anything was appended since the last).
  void checkpoint();
  // fdatasync now.
  void sync();

  std::uint64_t last_seq() const;
  std::uint64_t failures() const;  // records that could not be written, ever
  const AuditOptions& options() const { return options_; }
  std::string public_key() const;  // base64 Ed25519 public key
  std::string key_id() const;
  std::string fingerprint() const;  // "SHA256:..."

 private:
  struct Resumed {
    std::uint64_t torn = 0;  // bytes of a torn last record cut off
    bool clean = true;       // the last record is a shutdown checkpoint
    bool fresh = true;       // no records yet
    // Leaf hashes of the newest file's records from its last checkpoint on,
    // the first being seq `hashes_from` (to check the head against).
    std::uint64_t hashes_from = 0;
    std::vector<merkle::Hash> hashes;
  };
  class Turn;  // one turn at writing (RAII over the two below)

  void begin_turn_locked();
  void end_turn_locked();

  void open_or_resume();
  // Restores seq, prev, the Merkle range and the file position from the
  // newest file with records (from its last checkpoint on).
  Resumed resume_state();
  // Refuses to extend a log whose end the signed head says was cut off.
  void check_head(const Resumed& r) const;
  // Under the writer lock: takes in what other processes appended since our
  // last write, or follows their rotation. Cheap when nobody else wrote.
  void catch_up_locked();
  void absorb_line_locked(std::string_view line);
  // False when the record could not be written (nothing of it stays).
  bool write_record_locked(boost::json::object rec);
  // A record waiting in the group-commit queue: on its caller's stack for
  // append(), on the heap (owned by the queue, then by the batch) with a
  // completion for append_async().
  struct Pending {
    std::string body;                        // the serialized event
    std::uint64_t seq = 0;                   // set when written; 0 when it could not be
    bool done = false;                       // written (or failed) by whichever thread held mu_
    std::unique_ptr<Completion> completion;  // async only
  };
  // Queues `p`. `for_writer`: for a flush or the writer thread to write (a
  // flush posted to p's completion unless one is pending, else the writer
  // woken if it sleeps); false, and nothing queued, once stop_writer() was
  // called. Otherwise the caller writes it (append_body).
  bool enqueue(Pending* p, bool for_writer);
  // The flush enqueue() posts: writes one batch of the queue on this thread
  // when that is quick (see the header comment), else, and for what it
  // leaves queued, wakes the writer thread.
  void flush_on_caller();
  // Wakes the writer thread if it sleeps. Under queue_mu_; true: notify.
  bool wake_writer_locked();
  // append() of a serialized event: queues it and writes the queue up to it
  // on this thread unless another thread is at it already.
  std::uint64_t append_body(std::string body);
  // Under mu_: takes one batch off the queue (bounded), writes it in one turn,
  // marks its records done and moves the async ones into `finished`, to be
  // completed once mu_ is released. Returns the batch's size. Rotates after
  // the write when the file is full, unless `may_rotate` is false (a flush on
  // an I/O thread: the next batch, the writer thread's, rotates).
  std::size_t drain_locked(std::vector<std::unique_ptr<Pending>>& finished, bool may_rotate = true);
  bool rotation_due_locked() const;
  static void complete_all(std::vector<std::unique_ptr<Pending>>& finished);
  // The writer thread: drains the queue whenever it is not empty.
  void write_queued();
  // Frames and writes `batch` with one write(2); false (nothing of it stays)
  // when it could not be written.
  bool write_batch_locked(const std::vector<Pending*>& batch);
  // Writes a checkpoint when records came since the last one, or always with
  // `force`. `reason` "shutdown" marks a clean stop for the next start.
  bool checkpoint_locked(std::string_view reason, bool force);
  // Signs and writes the head for (seq, hash) unless the file already
  // covers as much.
  void write_head_locked(std::uint64_t seq, const merkle::Hash& hash, bool shutdown);
  // The head file now covers up to `seq`.
  void covered_locked(std::uint64_t seq);
  // The interval the head states (0 with `sync: always`).
  std::uint64_t head_interval_ms() const;
  // Before a record stamped `ts_ms` is written: signs the head over every
  // record so far when it would otherwise end more than
  // unsigned_span_limit_ms() after the oldest-stamped record it does not
  // cover (head.hpp), or when that record's stamp is not known.
  void sign_before_locked(std::int64_t ts_ms);
  // A record after head_seq_ (its seq and stamp), for sign_before_locked().
  void note_unsigned_locked(std::uint64_t seq, std::int64_t ts_ms);
  // Marks the log clean and returns a dup of its fd to fdatasync unlocked.
  int take_sync_fd_locked();
  void rotate_locked();
  void apply_retention_locked();
  // Keeps reserve_bytes allocated past the end of the active file.
  bool renew_reserve_locked();
  void set_unavailable_locked(const std::string& why);
  // While unavailable: renews the reserve and records the outage.
  void try_recover_locked();
  void background();

  AuditOptions options_;
  std::optional<AuditKey> key_;

  mutable std::mutex mu_;
  // The group-commit queue; taken only briefly, with or without mu_.
  std::mutex queue_mu_;
  std::deque<Pending*> queue_;
  std::atomic<std::size_t> queued_bytes_{0};  // bodies in queue_ (changed under queue_mu_)
  std::condition_variable queue_cv_;          // wakes the writer thread
  bool writer_idle_ = false;                  // under queue_mu_: it waits on queue_cv_
  std::size_t writer_waits_for_ = 0;          // under queue_mu_: records it delays for (0: none)
  bool writer_stop_ = false;                  // under queue_mu_: drain what is queued and end
  bool flush_posted_ = false;                 // under queue_mu_: a flush is posted, not yet run
  // What a posted flush reaches the log through: the log is gone (or its
  // writer stopped) once `log` is null; mu is held while a flush runs.
  struct FlushGate {
    explicit FlushGate(AuditLog* l) : log(l) {}
    std::mutex mu;
    AuditLog* log;
  };
  std::shared_ptr<FlushGate> gate_ = std::make_shared<FlushGate>(this);
  std::atomic<std::uint64_t> caller_writes_{0};
  std::atomic<std::size_t> largest_batch_{0};
  std::vector<Pending*> batch_;             // under mu_: the batch being written
  std::string batch_buf_;                   // under mu_: its lines, reused
  std::vector<merkle::Hash> batch_hashes_;  // under mu_: their leaf hashes, reused
  StampText stamps_;                        // under mu_: their `ts`
  metrics::Metrics::Counter& writes_total_ =
      metrics::Metrics::global().counter("bastion_audit_writes_total", "");
  metrics::Metrics::Counter& records_total_ =
      metrics::Metrics::global().counter("bastion_audit_records_total", "");
  int fd_ = -1;
  int head_fd_ = -1;
  std::optional<WriterLock> writers_;  // audit.lock and audit.writers
  std::uint64_t file_bytes_ = 0;
  std::uint64_t file_first_seq_ = 1;
  std::uint64_t seq_ = 0;  // last written
  merkle::Hash prev_{};    // hash of the last line
  merkle::CompactRange range_;
  std::uint64_t since_checkpoint_ = 0;
  std::chrono::steady_clock::time_point last_checkpoint_ = std::chrono::steady_clock::now();
  bool dirty_ = false;          // written since the last fdatasync
  std::uint64_t head_seq_ = 0;  // covered by the last head this writer signed
  // (last seq, ts in ms) of the records after head_seq_ whose stamps are
  // known, kept as a sliding-window minimum: the front holds the oldest stamp.
  std::deque<std::pair<std::uint64_t, std::int64_t>> unsigned_ts_;
  std::chrono::steady_clock::time_point last_retention_ = std::chrono::steady_clock::now();
  std::uint64_t failures_ = 0;

  // Disk space (see the header comment).
  bool reserve_supported_ = true;  // fallocate works on this filesystem
  std::uint64_t reserved_to_ = 0;  // offset in the active file allocated up to
  std::atomic<bool> available_{true};
  std::string unavailable_reason_;
  std::string unavailable_since_;    // ISO 8601
  std::uint64_t failed_writes_ = 0;  // since it became unavailable
  std::atomic<std::uint64_t> refused_{0};
  std::chrono::steady_clock::time_point next_rotate_try_{};

  std::condition_variable cv_;
  bool stop_ = false;
  std::thread worker_;  // background(): checkpoints, head, sync, retention, recovery
  std::thread writer_;  // write_queued(): the group commit of async appends
};

}  // namespace bastion::audit
