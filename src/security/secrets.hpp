// Secrets for upstream servers (API keys, tokens): stored Fernet-encrypted in
// <dir>/secrets.json (0600), set with `bastion secret set NAME` (the value
// from stdin, never argv), referenced by name from a server's `secrets:`
// mapping and decrypted only into that server's environment at start.
//
// File shape: {"version":1,"secrets":{"NAME":{"token":"gAAAA...","updated":"..."}}}
//
// Thread-safety: SecretStore is safe to use concurrently.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "security/fernet.hpp"

namespace bastion::security {

class SecretStore {
 public:
  // Loads <dir>/secrets.json if present. Throws std::runtime_error on a
  // malformed or readable-by-others file.
  SecretStore(std::filesystem::path dir, MultiFernet keys);

  // 1-128 characters of [A-Za-z0-9_.-].
  static bool valid_name(std::string_view name);

  // Persists at once. Throws std::invalid_argument on a bad name or an empty value.
  void set(std::string_view name, std::string_view value);
  bool remove(std::string_view name);
  // The decrypted value; nullopt when unknown. Throws std::runtime_error when
  // the stored token does not decrypt with any key (a lost key).
  std::optional<std::string> get(std::string_view name) const;
  std::vector<std::string> names() const;
  // Re-encrypts every secret under the newest key (after a rotation), keeping
  // the timestamps. Returns how many.
  std::size_t reencrypt();

 private:
  void persist_locked() const;

  std::filesystem::path file_;
  MultiFernet keys_;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>, std::less<>>
      entries_;  // token, updated
};

struct Rotation {
  MultiFernet ring;             // the key ring as the file now holds it
  std::size_t reencrypted = 0;  // secrets re-encrypted under the new key
};

// `bastion keys rotate`: a new primary key (written with every old one),
// every stored secret re-encrypted under it, and only then the ring cut to
// `keep` keys (0 = all). A secret that does not decrypt stops it before any
// key is dropped (std::runtime_error naming it): cutting the ring first lost
// every secret the dropped keys had encrypted.
Rotation rotate_keys_and_secrets(const std::filesystem::path& dir, std::size_t keep);

}  // namespace bastion::security
