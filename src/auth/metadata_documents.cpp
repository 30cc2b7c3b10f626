#include "auth/metadata_documents.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <stdexcept>

#include "auth/external_jwks.hpp"
#include "auth/jwt.hpp"

namespace bastion::auth {

namespace json = boost::json;

ClientDocuments::ClientDocuments(MetadataDocumentOptions options, Clock clock,
                                 std::size_t max_entries)
    : options_(std::move(options)), clock_(std::move(clock)), cache_(max_entries) {
  fetch_options_.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(options_.timeout);
  fetch_options_.max_bytes = options_.max_bytes;
  fetch_options_.max_redirects = options_.max_redirects;
  fetch_options_.ca_file = options_.ca_file;
  for (const auto& a : options_.allow_addresses) {
    auto n = IpNetwork::parse(a);
    if (!n)
      throw std::invalid_argument("auth.client_metadata_documents.allow_addresses: '" + a +
                                  "' is not an address");
    fetch_options_.allow.push_back(*n);
  }
}

std::int64_t ClientDocuments::lifetime(const FetchedDocument& d) const {
  std::int64_t life = d.max_age ? *d.max_age : options_.default_cache.count();
  if (d.no_store) life = 0;
  return std::clamp<std::int64_t>(life, options_.min_cache.count(), options_.max_cache.count());
}

std::optional<ClientDocuments::Entry> ClientDocuments::cached(const std::string& key) {
  std::lock_guard lock(mu_);
  const Entry* e = cache_.find(key);
  if (!e || e->expires <= clock_()) return std::nullopt;
  return *e;
}

void ClientDocuments::put(const std::string& key, Entry e) {
  std::lock_guard lock(mu_);
  cache_.get_or_insert(key) = std::move(e);
}

bool ClientDocuments::take_slot(std::string_view source) {
  std::lock_guard lock(slots_mu_);
  if (running_ >= kMaxConcurrentFetches) return false;
  auto& mine = running_by_source_[std::string(source)];
  if (mine >= kMaxFetchesPerSource) return false;
  ++mine;
  ++running_;
  return true;
}

void ClientDocuments::release_slot(std::string_view source) {
  std::lock_guard lock(slots_mu_);
  auto it = running_by_source_.find(std::string(source));
  if (it != running_by_source_.end() && --it->second == 0) running_by_source_.erase(it);
  --running_;
}

Result<FetchedDocument> ClientDocuments::fetch(const std::string& url, std::string_view source,
                                               bool* busy, const SafeFetchOptions& o) {
  *busy = !take_slot(source);
  if (*busy)
    return fail(
        "too many client metadata fetches at once (from this address or in all); try "
        "again shortly");
  struct Release {
    ClientDocuments* self;
    std::string_view source;
    ~Release() { self->release_slot(source); }
  } release{this, source};
  ++fetches_;
  return safe_fetch(url, o);
}

Result<ClientMetadata> ClientDocuments::metadata(const std::string& url, std::string_view source) {
  if (!options_.enabled) return fail("client metadata documents are disabled");
  if (auto ok = check_client_id_url(url); !ok) return ok.error();
  if (!options_.allow_hosts.empty()) {
    auto u = boost::urls::parse_absolute_uri(url);
    std::string host = u ? std::string(u->host()) : "";
    if (std::find(options_.allow_hosts.begin(), options_.allow_hosts.end(), host) ==
        options_.allow_hosts.end())
      return fail("client metadata documents from " + host + " are not accepted here");
  }
  std::string key = "doc:" + url;
  if (auto e = cached(key)) {
    if (e->meta) return std::move(*e->meta);
    return fail(e->error);
  }
  // allow_hosts holds for every redirect too, not only for the client_id.
  SafeFetchOptions o = fetch_options_;
  o.allow_hosts = options_.allow_hosts;
  bool busy = false;
  auto doc = fetch(url, source, &busy, o);
  if (busy) return doc.error();
  auto failed = [&](std::string why) -> Result<ClientMetadata> {
    spdlog::warn("auth: client metadata document {} refused: {}", url, why);
    put(key, Entry{clock_() + options_.min_cache.count(), std::nullopt, {}, why});
    return fail(why);
  };
  if (!doc) return failed(doc.reason());
  std::string ct = doc->content_type.substr(0, doc->content_type.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  for (char& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ct != "application/json" && !(ct.size() > 5 && ct.substr(ct.size() - 5) == "+json"))
    return failed("the client metadata document is not application/json");
  boost::system::error_code ec;
  json::value v = json::parse(doc->body, ec);
  if (ec || !v.is_object()) return failed("the client metadata document is not a JSON object");
  auto m = parse_client_metadata(v.get_object(), MetadataSource::kMetadataDocument);
  if (!m) return failed(split_metadata_error(m.reason()).second);
  // The document must name itself: the URL it was fetched from, exactly.
  if (m->client_id != url)
    return failed("the document's client_id (" + m->client_id + ") is not its URL " + url);
  put(key, Entry{clock_() + lifetime(doc.value()), m.value(), {}, {}});
  return m;
}

Result<std::vector<std::shared_ptr<const Key>>> ClientDocuments::jwks(const std::string& url,
                                                                      std::string_view source) {
  std::string key = "jwks:" + url;
  if (auto e = cached(key)) {
    if (e->error.empty()) return std::move(e->keys);
    return fail(e->error);
  }
  bool busy = false;
  auto doc = fetch(url, source, &busy, fetch_options_);
  if (busy) return doc.error();
  auto failed = [&](std::string why) -> Result<std::vector<std::shared_ptr<const Key>>> {
    put(key, Entry{clock_() + options_.min_cache.count(), std::nullopt, {}, why});
    return fail(why);
  };
  if (!doc) return failed(doc.reason());
  boost::system::error_code ec;
  json::value v = json::parse(doc->body, ec);
  if (ec || !v.is_object()) return failed("the JWKS at " + url + " is not a JSON object");
  auto keys = parse_jwks(v);
  if (keys.empty()) return failed("the JWKS at " + url + " has no usable signing key");
  put(key, Entry{clock_() + lifetime(doc.value()), std::nullopt, keys, {}});
  return keys;
}

}  // namespace bastion::auth
