// Clients an operator creates and revokes at run time (the console, the
// admin API), next to the configured ones (auth.clients, immutable).
//
// A managed client is a confidential client_credentials client: an id, an
// argon2id hash of its secret (the secret is shown once, at creation), its
// scopes. Revoking a client — managed or configured — leaves a tombstone:
// the token endpoint refuses it and every bearer token issued to it is
// refused from the next request on (not only at expiry).
//
// Storage: one auth::RecordStore record per client id under
// <auth data_dir>/managed_clients, shared by every process of the data
// directory. The revoked ids are also held in memory, so the bearer check on
// /mcp is a lookup in a small set; other processes' revocations are picked
// up within `refresh` (one directory listing at most that often).
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "auth/clients.hpp"
#include "auth/options.hpp"
#include "auth/record_store.hpp"
#include "auth/result.hpp"

namespace bastion::auth {

class ManagedClients {
 public:
  ManagedClients(std::filesystem::path dir, Clock clock = system_now,
                 std::chrono::seconds refresh = std::chrono::seconds(1));

  // A new client `name` (the client_id; [A-Za-z0-9._-]{1,64}) with a fresh
  // secret. Errors: a bad name or scope, an id that exists (managed,
  // configured per `taken`, or revoked), I/O.
  Result<NewClient> create(std::string_view name, std::vector<std::string> scopes,
                           std::string_view actor,
                           const std::function<bool(std::string_view)>& taken = {});
  // The live (not revoked) managed client when `secret` is its secret.
  Result<ClientConfig> authenticate(std::string_view id, std::string_view secret) const;
  // The live managed client `id`.
  std::optional<ClientConfig> find(std::string_view id) const;
  // Marks `id` revoked (a tombstone even for an id this store never made).
  // False on I/O failure.
  bool revoke(std::string_view id, std::string_view actor);
  // Whether `id` was revoked. Cheap: a set lookup (see above).
  bool revoked(std::string_view id) const;
  // Every record: {client_id, scopes, created, created_by, revoked, revoked_at, managed}.
  std::vector<boost::json::object> list() const;

 private:
  void reload_revoked() const;

  Clock clock_;
  std::chrono::seconds refresh_;
  mutable RecordStore store_;
  mutable std::shared_mutex mu_;
  mutable std::set<std::string, std::less<>> revoked_;
  mutable std::atomic<std::int64_t> loaded_at_{0};
};

}  // namespace bastion::auth
