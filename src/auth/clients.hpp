// OAuth2 confidential clients: secrets exist only as argon2id hashes
// (libsodium crypto_pwhash_str); `create_client` makes a new id/secret pair
// and the hash that goes into the config.
//
// Thread-safety: ClientRegistry is safe to use concurrently.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/options.hpp"
#include "auth/result.hpp"

namespace bastion::auth {

// "$argon2id$v=19$m=65536,t=2,p=1$..." (libsodium interactive limits).
// Throws std::runtime_error if libsodium runs out of memory.
std::string hash_secret(std::string_view secret);
bool verify_secret(std::string_view hash, std::string_view secret);
// Whether `hash` parses as a libsodium argon2id hash string.
bool well_formed_hash(std::string_view hash);

struct NewClient {
  std::string client_id;
  std::string secret;       // show once, never store
  std::string secret_hash;  // goes into the config
  std::vector<std::string> scopes;
  // {"id":..., "secret_hash":..., "scopes":[...]} for the config's auth.clients.
  boost::json::object config_entry() const;
};
// A client with a fresh 256-bit random secret (base64url). `name` becomes the
// client_id and must be 1-64 characters of [A-Za-z0-9._-].
Result<NewClient> create_client(std::string_view name, std::vector<std::string> scopes);

class ClientRegistry {
 public:
  explicit ClientRegistry(std::vector<ClientConfig> clients);

  const ClientConfig* find(std::string_view id) const;
  // Checks the secret. A successful argon2id verification is remembered as a
  // keyed hash of the secret (process-random key, memory only), so repeat
  // requests do not pay argon2id's 64 MiB / tens of ms every time.
  Result<const ClientConfig*> authenticate(std::string_view id, std::string_view secret) const;
  std::size_t size() const { return clients_.size(); }
  const std::vector<ClientConfig>& all() const { return clients_; }

 private:
  std::vector<ClientConfig> clients_;
  std::string cache_key_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::string> verified_;  // id -> HMAC(secret)
};

}  // namespace bastion::auth
