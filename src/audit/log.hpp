// The tamper-evident audit log: one JSON line per security event, in files
// under one directory.
//
//   audit.log                  the active file
//   audit-<first seq>.log      rotated files (12 digits, so they sort)
//   audit.log.head             seq and hash of the newest record (truncation check)
//   audit.key / audit.pub      Ed25519 key that signs checkpoints (0600)
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
// hash, SHA-256(0x00 || line)), so an edited,
// removed or reordered record breaks the chain at that point. Every
// `checkpoint_every` records (and at rotation and shutdown) a signed
// `audit_checkpoint` record attests the RFC 6962 Merkle root of all records
// before it, the chain head and the tree size; it also carries the compact
// range, so verification and restart can begin at any checkpoint. Without the
// signing key, nothing up to the last checkpoint can be rewritten undetected;
// the records after it are covered by the chain and the head file (updated
// per record with sync=always, else every sync_interval and at checkpoints).
//
// Records never contain raw PII or secrets: callers pass types, counts and
// names only (the filter and tools in this module do).
//
// Durability: append() returns after write(2), so a record whose call was
// answered survives `kill -9`; `sync` chooses when it also reaches the disk
// (fdatasync per record, or every sync_interval).
//
// Thread-safety: AuditLog is safe to use from many threads.
//
// Around it: writer_lock.hpp (the protocol between writing processes),
// verify.hpp (verification), reader.hpp (reading records for tools), format.hpp
// (record parsing shared by all of them), merkle.hpp and filter.hpp.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/merkle.hpp"
#include "audit/writer_lock.hpp"

namespace bastion::audit {

struct AuditOptions {
  std::filesystem::path dir = "data/audit";  // created 0700 (config: audit.dir)
  enum class Sync { kAlways, kInterval, kNever };
  Sync sync = Sync::kInterval;                           // when records reach the disk
  std::chrono::milliseconds sync_interval{200};          // with kInterval
  std::uint64_t checkpoint_every = 1000;                 // records between signed checkpoints
  std::chrono::milliseconds checkpoint_interval{60000};  // and at most this long apart
  std::uint64_t max_file_bytes = 64ull << 20;            // rotate the active file beyond this
  std::size_t keep_files = 0;                            // rotated files kept; 0 = all
};

class AuditLog {
 public:
  // Opens (or creates) the log and its key and resumes the chain. A torn last
  // line from a crash is cut off and noted in an `audit_start` record. Throws
  // std::runtime_error when the existing file cannot be resumed (it was
  // edited): run `bastion audit verify` and move it away.
  explicit AuditLog(AuditOptions options);
  // Writes a final checkpoint and syncs.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one event (its fields; seq, ts and prev are added). Returns the
  // record's seq. I/O failures are logged and counted, never thrown: losing
  // the audit trail must be visible (failures()) but must not crash calls.
  std::uint64_t append(boost::json::object event);
  // Writes a signed checkpoint now (if anything was appended since the last).
  void checkpoint();
  // fdatasync now.
  void sync();

  std::uint64_t last_seq() const;
  std::uint64_t failures() const;
  const AuditOptions& options() const { return options_; }
  std::string public_key() const;  // base64 Ed25519 public key
  std::string key_id() const;

 private:
  struct Resumed {
    std::uint64_t torn = 0;  // bytes of a torn last record cut off
    bool clean = true;       // the last record is a shutdown checkpoint
    bool fresh = true;       // no records yet
  };
  class Turn;  // one turn at writing (RAII over the two below)

  void begin_turn_locked();
  void end_turn_locked();

  void load_or_create_key();
  void open_or_resume();
  // Restores seq, prev, the Merkle range and the file position from the
  // newest file with records (from its last checkpoint on).
  Resumed resume_state();
  // Under the writer lock: takes in what other processes appended since our
  // last write, or follows their rotation. Cheap when nobody else wrote.
  void catch_up_locked();
  void absorb_line_locked(std::string_view line);
  void write_record_locked(boost::json::object rec);
  // Writes a checkpoint when records came since the last one, or always with
  // `force` (shutdown, rotation, a new file). `reason` "shutdown" marks a
  // clean stop for the next start.
  void checkpoint_locked(std::string_view reason, bool force);
  void write_head_locked();
  // Marks the log clean and returns a dup of its fd to fdatasync unlocked.
  int take_sync_fd_locked();
  void rotate_locked();
  void background();

  AuditOptions options_;
  std::string sk_;  // Ed25519 secret key (64 bytes)
  std::string pk_;  // public key (32 bytes)
  std::string key_id_;

  mutable std::mutex mu_;
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
  bool dirty_ = false;       // written since the last fdatasync
  bool head_dirty_ = false;  // the head file lags the log
  std::uint64_t failures_ = 0;

  std::condition_variable cv_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace bastion::audit
