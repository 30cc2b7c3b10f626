// Revoked access tokens (RFC 7009), by jti, persisted in the data directory
// until the token would have expired anyway, so a restart does not resurrect
// them. Small by construction: entries leave at exp (+ clock skew).
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

  std::filesystem::path file_;
  std::chrono::seconds skew_;
  Clock clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::int64_t> revoked_;  // jti -> exp
};

}  // namespace bastion::auth
