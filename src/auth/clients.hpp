// OAuth2 confidential clients: secrets exist only as argon2id hashes
// (libsodium crypto_pwhash_str); `create_client` makes a new id/secret pair
// and the hash that goes into the config.
//
// Thread-safety: ClientRegistry is safe to use concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
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
// argon2id verifications run by verify_secret in this process (a metric, and
// how tests see that an unknown client id costs one too).
std::uint64_t secret_verifications();
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

// An argon2id hash of a random secret with the same parameters (memory,
// passes) as `like`, or libsodium's interactive ones when `like` does not
// parse: what an unknown client id is checked against, so that it costs as
// much as a wrong secret. Made once per parameter set and process.
const std::string& dummy_hash_like(std::string_view like);

// The configured clients, immutable; a reload builds a new registry.
class ClientRegistry {
 public:
  // `not_before`: per client id, the time its current secret took effect
  // (tokens issued at or before it are refused); absent = 0. `previous`: the
  // registry this one replaces, whose verified secrets carry over for
  // clients whose hash did not change.
  explicit ClientRegistry(std::vector<ClientConfig> clients,
                          std::unordered_map<std::string, std::int64_t> not_before = {},
                          const ClientRegistry* previous = nullptr);

  const ClientConfig* find(std::string_view id) const;
  std::int64_t not_before(std::string_view id) const;
  // The client, if this secret was verified for it before (no argon2id).
  const ClientConfig* cached(std::string_view id, std::string_view secret) const;
  // Checks the secret with argon2id. An unknown id is checked against a
  // dummy hash of the same cost, so its answer takes as long as a wrong
  // secret's. A success is remembered as a keyed hash of the secret
  // (process-random key, memory only): repeat requests take the fast path.
  Result<const ClientConfig*> authenticate(std::string_view id, std::string_view secret) const;
  std::size_t size() const { return clients_.size(); }
  const std::vector<ClientConfig>& all() const { return clients_; }

 private:
  std::vector<ClientConfig> clients_;
  std::unordered_map<std::string, std::int64_t> not_before_;
  std::string dummy_;  // the hash unknown ids are checked against
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::string> verified_;  // id -> HMAC(secret)
};

// When each client's current credentials began, kept in `file` (JSON, 0600)
// so a restart still refuses tokens issued under a secret that has since
// been replaced: a client whose hash is new or changed gets `now`; one
// unchanged keeps its time. Without a file (first start) every client gets
// 0. A corrupt file counts as "all changed". Returns id -> time.
std::unordered_map<std::string, std::int64_t> update_client_epochs(
    const std::filesystem::path& file, const std::vector<ClientConfig>& clients, std::int64_t now);

}  // namespace bastion::auth
