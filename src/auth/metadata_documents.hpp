// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document,
// MCP 2026-07-28 client registration): a client_id that is an https URL names
// the client's metadata; it is fetched with the SSRF guard of safe_fetch.hpp,
// validated (the document's client_id must be the URL exactly, redirect URIs,
// no shared secrets, keys for private_key_jwt) and cached as its HTTP caching
// headers allow, within [min_cache, max_cache]. Failures are cached for
// min_cache too, so a client_id cannot turn Bastion into a fetch amplifier.
// Also fetches a client's jwks_uri, with the same guard.
//
// Thread-safety: safe for concurrent use. A fetch blocks its caller (at most
// the configured timeout); at most 4 fetches run at once (the transport runs
// routes on 8 threads of their own, so hanging fetches never take them all).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/client_metadata.hpp"
#include "auth/jwk.hpp"
#include "auth/options.hpp"
#include "auth/safe_fetch.hpp"
#include "auth/signin_options.hpp"

namespace bastion::auth {

class ClientDocuments {
 public:
  // Throws std::invalid_argument for a bad allow_addresses entry.
  ClientDocuments(MetadataDocumentOptions options, Clock clock = system_now);

  // The validated metadata of the client whose client_id is `url`.
  Result<ClientMetadata> metadata(const std::string& url);
  // The signing keys at a client's jwks_uri (cached like documents).
  Result<std::vector<std::shared_ptr<const Key>>> jwks(const std::string& url);

  std::size_t fetches() const { return fetches_.load(); }

 private:
  struct Entry {
    std::int64_t expires = 0;
    std::optional<ClientMetadata> meta;
    std::vector<std::shared_ptr<const Key>> keys;
    std::string error;  // a cached failure
  };
  Result<FetchedDocument> fetch(const std::string& url, const SafeFetchOptions& o);
  std::int64_t lifetime(const FetchedDocument& d) const;
  void put(const std::string& key, Entry e);

  MetadataDocumentOptions options_;
  SafeFetchOptions fetch_options_;
  Clock clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;
  std::atomic<int> running_{0};
  std::atomic<std::size_t> fetches_{0};
};

}  // namespace bastion::auth
