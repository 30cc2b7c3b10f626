// A directory of small JSON records, one 0600 file each, that every process
// sharing the data directory (replicas, `bastion client` commands) reads and
// writes safely. The sign-in flow keeps its server-side state here: pending
// authorizations, authorization codes, refresh token families, used
// client-assertion ids and dynamically registered clients.
//
// Why files and these operations:
//  - create is create-if-absent with the whole content at once (write a temp
//    file, link(2) it to its name: EEXIST if someone else won), so no reader
//    sees half a record and two replicas cannot both create one id;
//  - take is one-time use across processes: rename(2) to "<name>.used" is
//    atomic, so of two concurrent takers exactly one gets the record; the
//    other, and any later one until it expires, learns it was used (code
//    replay detection needs that);
//  - update is read-modify-write under flock on the directory's lock file
//    (like the revocation list), then an atomic replace;
//  - a record's expiry is also its file's mtime, so pruning needs only stat.
// Keys become file names through SHA-256 (hex), so secret keys (codes,
// refresh family ids) never appear in a directory listing; `list` returns
// records, not keys. Keys of records that need listing are stored inside them.
//
// Thread-safety: all members may be called concurrently, from any process.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/options.hpp"
#include "auth/result.hpp"

namespace bastion::auth {

struct RecordStoreOptions {
  // fsync each write (and the directory): for what must survive a crash
  // (refresh token families, registered clients). Short-lived records
  // (codes, pending authorizations) skip it.
  bool durable = true;
  // Largest record accepted on read (a bigger file is treated as corrupt).
  std::size_t max_record_bytes = 256 * 1024;
};

class RecordStore {
 public:
  // Creates `dir` 0700 (throws on a directory others can access).
  RecordStore(std::filesystem::path dir, RecordStoreOptions options = {}, Clock clock = system_now);

  // Stores `record` under `key` until `expires` (Unix seconds). False when
  // the key exists already (expired or not: ids are random, a clash is a bug
  // or an attack). Errors: I/O.
  Result<bool> create(std::string_view key, const boost::json::object& record,
                      std::int64_t expires);

  // The record, when present and not expired.
  std::optional<boost::json::object> get(std::string_view key) const;

  // One-time use.
  struct Taken {
    enum class State { kAbsent, kTaken, kReplayed } state = State::kAbsent;
    boost::json::object record;  // for kTaken and kReplayed
  };
  // The first caller gets kTaken; later callers kReplayed (with the record)
  // until it expires; unknown or expired keys kAbsent.
  Taken take(std::string_view key);

  // Read-modify-write under the directory lock. `fn` gets the current record
  // (nullopt when absent or expired) and returns the new one with its expiry,
  // or nullopt to delete. Returns what fn returned.
  struct Versioned {
    boost::json::object record;
    std::int64_t expires = 0;
  };
  using UpdateFn = std::function<std::optional<Versioned>(std::optional<boost::json::object>)>;
  Result<std::optional<Versioned>> update(std::string_view key, const UpdateFn& fn);

  // Deletes the record (and its used marker). False when there was none.
  bool remove(std::string_view key);

  // Every live record (for listings; unordered).
  std::vector<boost::json::object> list() const;
  // Live records, by stat only.
  std::size_t count() const;
  // Deletes expired records and used markers; returns how many.
  std::size_t prune();

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path file_of(std::string_view key, bool used = false) const;
  std::optional<boost::json::object> read(const std::filesystem::path& file) const;
  // Writes content to a fresh temp file (0600, mtime = expires) and returns its path.
  Result<std::filesystem::path> write_temp(const boost::json::object& record,
                                           std::int64_t expires) const;

  std::filesystem::path dir_;
  RecordStoreOptions options_;
  Clock clock_;
};

// Lowercase hex of SHA-256(key): the file name of a record.
std::string record_name(std::string_view key);

}  // namespace bastion::auth
