// Revoked access tokens (RFC 7009), by jti, persisted in the data directory
// until the token would have expired anyway, so a restart does not resurrect
// them. Small by construction: entries leave at exp (+ clock skew). Replicas
// may share the file: writes merge under flock, and reads pick up the others'
// revocations within a second.
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <unordered_map>

#include "auth/options.hpp"

namespace bastion::auth {

class RevocationList {
 public:
  // Loads `file` when it exists (throws on a corrupt or over-permissive file).
  RevocationList(std::filesystem::path file, std::chrono::seconds skew, Clock clock = system_now);

  // Records jti until exp; persists before returning. Returns false if it was
  // already revoked.
  bool revoke(const std::string& jti, std::int64_t exp);
  bool is_revoked(std::string_view jti) const;
  // Drops entries past exp + skew (and persists). Returns how many went.
  std::size_t prune();
  std::size_t size() const;

 private:
  void persist_locked() const;
  // Adds what the file holds (if it changed since we last looked, or always
  // with strict, which also throws on a bad file).
  void merge_from_disk_locked(bool strict) const;

  std::filesystem::path file_;
  std::chrono::seconds skew_;
  Clock clock_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::int64_t> revoked_;  // jti -> exp
  struct FileStamp {
    std::uint64_t ino = 0;
    std::int64_t sec = 0, nsec = 0, size = 0;
    bool operator==(const FileStamp&) const = default;
  };
  mutable FileStamp seen_;
  mutable std::int64_t last_check_ = 0;
};

}  // namespace bastion::auth
