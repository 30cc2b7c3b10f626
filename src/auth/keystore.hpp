// Signing keys on disk: generated on first start, loaded afterwards, rotated on
// demand. One file per key in the data directory (0700), each 0600; a key file
// that group or others can read is refused with a message saying how to fix it.
//
// Rotation: the new key signs from now on; the previous keys stay published in
// the JWKS (and usable for verification) for `retention` after they were
// retired -- the longest lifetime a token they signed can have -- and are then
// pruned from memory and disk.
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "auth/jwk.hpp"
#include "auth/options.hpp"

namespace bastion::auth {

struct KeyInfo {
  std::shared_ptr<const Key> key;
  std::int64_t created = 0;
  std::int64_t retired = 0;  // 0 = active
  std::filesystem::path file;
};

class KeyStore {
 public:
  // Opens (creating when needed) `dir` and makes sure an active key of `alg`
  // exists. Throws std::runtime_error with a clear message on permission
  // problems or unreadable key files (a startup failure).
  KeyStore(std::filesystem::path dir, Alg alg, std::chrono::seconds retention,
           Clock clock = system_now, int rsa_bits = 2048);

  std::shared_ptr<const Key> active() const;
  // Any key still trusted for verification (active or retired within
  // retention); nullptr otherwise. An unknown kid re-reads the directory (at
  // most once a second), so replicas sharing it see each other's keys.
  std::shared_ptr<const Key> find(std::string_view kid) const;
  // {"keys":[...]} with public parts of asymmetric keys only.
  boost::json::object jwks() const;
  // Generates a new active key; the old one is retired now. Returns the new kid.
  std::string rotate();
  // Forgets keys retired longer than retention ago (and deletes their files).
  std::size_t prune();

  std::vector<KeyInfo> keys() const;
  Alg alg() const { return alg_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  void load();
  KeyInfo create_key();
  void write(const KeyInfo& info) const;
  bool expired(const KeyInfo& k, std::int64_t now) const;

  std::filesystem::path dir_;
  Alg alg_;
  std::chrono::seconds retention_;
  Clock clock_;
  int rsa_bits_;
  mutable std::shared_mutex mu_;
  std::vector<KeyInfo> keys_;  // newest last; the last non-retired one is active
  mutable std::atomic<std::int64_t> last_reload_{0};
};

// Filesystem helpers shared with the revocation list.
// Creates `dir` 0700 if missing; throws if it exists with group/other access.
void ensure_private_dir(const std::filesystem::path& dir);
// Writes atomically (temp file 0600 + fsync + rename). Throws on failure.
void write_private_file(const std::filesystem::path& file, std::string_view content);
// Reads a file, refusing (with a clear reason) one accessible by group/others.
Result<std::string> read_private_file(const std::filesystem::path& file);

}  // namespace bastion::auth
