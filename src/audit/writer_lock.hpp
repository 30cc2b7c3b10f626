// The protocol that lets several processes append to one audit directory
// (each `bastion stdio` a client spawns, next to a `bastion serve`):
//
//   audit.lock     flock'ed exclusively by the process that is appending
//   audit.writers  read-locked (byte 0) by every open writer; maps the writer
//                  count shared, so a lone writer keeps audit.lock between
//                  appends and pays nothing for the protocol
//
// A newcomer raises the count and waits for audit.lock, which the incumbent
// lets go at its next append or background tick (release_if_shared()).
// Joining and leaving are serialised by a write lock on byte 1; "nobody else
// holds byte 0" means no other writer is alive, so a count left by writers
// that were killed is reset. The locks are fcntl OFD locks: per open file
// description like flock, so two logs in one process count as two writers.
//
// Thread-safety: none; AuditLog calls it under its own mutex.
#pragma once

#include <cstdint>
#include <filesystem>

namespace bastion::audit {

class WriterLock {
 public:
  // Opens (creates 0600) audit.lock and audit.writers in `dir` and registers
  // this writer. Throws std::runtime_error naming the file on failure.
  explicit WriterLock(const std::filesystem::path& dir);
  // Unregisters (if leave() did not) and closes both files, which releases
  // audit.lock.
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  // No other writer was alive when this one registered.
  bool alone_at_start() const { return alone_; }
  // Whether this writer holds audit.lock.
  bool holding() const { return holding_; }
  // Takes audit.lock, waiting while another writer holds it.
  void take();
  // Lets audit.lock go when other writers are registered; keeps it otherwise.
  void release_if_shared();
  // Unregisters from the count now (idempotent); audit.lock, if held, stays
  // held until destruction.
  void leave();
  // Writers registered in the directory right now.
  std::uint32_t writers() const;

 private:
  struct Shared;  // the count in audit.writers (mmap)

  std::filesystem::path dir_;
  int lock_fd_ = -1;      // audit.lock: exclusive while appending
  int writers_fd_ = -1;   // audit.writers: shared while this writer is open
  bool alone_ = true;     // no other writer was running when we registered
  bool holding_ = false;  // we hold audit.lock (kept while we are the only writer)
  Shared* shared_ = nullptr;
  bool registered_ = false;  // counted in shared_->writers
};

}  // namespace bastion::audit
