// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
// MCP 2026-07-28 client registration): a client_id that is an https URL names
// the client's metadata; it is fetched with the SSRF guard of safe_fetch.hpp,
// validated (the document's client_id must be the URL exactly, redirect URIs,
// no shared secrets, keys for private_key_jwt) and cached as its HTTP caching
// headers allow, within [min_cache, max_cache]. Failures are cached for
// min_cache too, so a client_id cannot turn Bastion into a fetch amplifier.
// Also fetches a client's jwks_uri, with the same guard.
//
// Where fetches run, and their bounds: a fetch blocks its caller (at most
// the configured timeout), which is always one of the transport's route
// threads (8 of their own, never an I/O thread, never the hashing pool:
// server.cpp). At most 4 fetches run at once (so hanging fetches never take
// every route thread), and at most 2 for one source (the address the
// request came from: so one address holding documents open cannot take
// every fetch slot). A fetch refused for want of a slot is answered at once
// and not cached (it says nothing about the document).
//
// The cache holds at most `max_entries` documents and JWKS (4096 by
// default); when full, the least recently used entry goes first, so a flood
// of new client_ids pushes out idle entries, not the ones in use.
//
// Thread-safety: safe for concurrent use.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/client_metadata.hpp"
#include "auth/jwk.hpp"
#include "auth/lru_map.hpp"
#include "auth/options.hpp"
#include "auth/safe_fetch.hpp"
#include "auth/signin_options.hpp"

namespace bastion::auth {

class ClientDocuments {
 public:
  static constexpr std::size_t kMaxConcurrentFetches = 4;
  static constexpr std::size_t kMaxFetchesPerSource = 2;
  static constexpr std::size_t kDefaultMaxEntries = 4096;

  // Throws std::invalid_argument for a bad allow_addresses entry.
  ClientDocuments(MetadataDocumentOptions options, Clock clock = system_now,
                  std::size_t max_entries = kDefaultMaxEntries);

  // The validated metadata of the client whose client_id is `url`; a fetch
  // counts against `source` (the requester's rate-limit key).
  Result<ClientMetadata> metadata(const std::string& url, std::string_view source);
  // The signing keys at a client's jwks_uri (cached like documents).
  Result<std::vector<std::shared_ptr<const Key>>> jwks(const std::string& url,
                                                       std::string_view source);

  // Fetches started (refusals for want of a slot not counted).
  std::size_t fetches() const { return fetches_.load(); }

 private:
  struct Entry {
    std::int64_t expires = 0;
    std::optional<ClientMetadata> meta;
    std::vector<std::shared_ptr<const Key>> keys;
    std::string error;  // a cached failure
  };
  // Fetches `url` in one of `source`'s slots; *busy when there was none
  // (the refusal is then not to be cached).
  Result<FetchedDocument> fetch(const std::string& url, std::string_view source, bool* busy,
                                const SafeFetchOptions& o);
  bool take_slot(std::string_view source);
  void release_slot(std::string_view source);
  // The cached entry under `key` when it has not expired.
  std::optional<Entry> cached(const std::string& key);
  std::int64_t lifetime(const FetchedDocument& d) const;
  void put(const std::string& key, Entry e);

  MetadataDocumentOptions options_;
  SafeFetchOptions fetch_options_;
  Clock clock_;
  std::mutex mu_;
  LruMap<Entry> cache_;
  std::mutex slots_mu_;
  std::size_t running_ = 0;
  std::unordered_map<std::string, std::size_t> running_by_source_;
  std::atomic<std::size_t> fetches_{0};
};

}  // namespace bastion::auth
