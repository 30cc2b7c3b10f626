#include "auth/options.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <limits>
#include <stdexcept>

#include "auth/clients.hpp"
#include "auth/ip_network.hpp"
#include "auth/jwk.hpp"
#include "auth/redirect_uri.hpp"
#include "auth/signin_clients.hpp"
#include "storage/private_file.hpp"

namespace bastion::auth {

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// Why `issuer` (trailing '/' already dropped) is no issuer URL; "" when it is one.
std::string issuer_problem(const std::string& issuer) {
  auto u = boost::urls::parse_absolute_uri(issuer);
  if (!u) return "'" + issuer + "' is not an absolute URL";
  if (u->scheme() != "https" && u->scheme() != "http") return "scheme must be http(s)";
  if (u->has_query() || u->has_fragment()) return "must not have a query or fragment";
  if (u->host().empty()) return "has no host";
  return "";
}

// Why an external issuer's JWKS URL cannot be fetched; "" when it can.
// `over_http`: the operator accepts plain http to another host (a network
// nobody else can reach).
std::string jwks_url_problem(const std::string& url, bool over_http) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return "'" + url + "' is not an absolute URL";
  // The fetcher speaks plain HTTP, which anyone on the path could answer
  // with their own key: only to this machine, where a local TLS-terminating
  // proxy (or a sidecar) fetches an https JWKS.
  if (u->scheme() != "http")
    return "must be http:// (fetch an https JWKS through a local TLS proxy)";
  if (!over_http && !loopback_http_url(url))
    return "must be http:// to this machine (127.0.0.1, [::1] or localhost): plain http over the "
           "network lets anyone on the path serve their own keys (fetch the key set through a "
           "local TLS proxy, or, for a network only Bastion and the issuer can reach, list it in "
           "external_issuers with jwks_over_http: true)";
  return "";
}

ClientConfig read_client(config::Reader& c) {
  ClientConfig cc;
  if (c.has("id") && c.has("client_id")) c.fail("client_id", "is another name for id: give one");
  cc.id = c.str("id", c.str("client_id", ""));
  cc.secret_hash = c.str("secret_hash", "");
  std::string hash_file = c.str("secret_hash_file", "");
  cc.scopes = c.words("scopes");
  cc.default_scopes = c.words("default_scopes");
  bool explicit_grants = c.has("grant_types");
  if (explicit_grants) cc.grant_types = c.words("grant_types");
  cc.client_name = c.str("client_name", "");
  cc.redirect_uris = c.words("redirect_uris");
  cc.token_endpoint_auth_method = c.str("token_endpoint_auth_method", "");
  if (auto* j = c.raw("jwks")) {
    if (!j->is_object()) c.fail("jwks", "must be a JWK Set (a mapping with keys)");
    cc.jwks = j->get_object();
  }
  cc.jwks_uri = c.str("jwks_uri", "");
  c.finish();

  if (cc.id.empty()) c.fail("id", "is required");
  if (!cc.redirect_uris.empty() && !explicit_grants)
    cc.grant_types = {"authorization_code", "refresh_token"};
  if (cc.token_endpoint_auth_method.empty())
    cc.token_endpoint_auth_method =
        cc.secret_hash.empty() && hash_file.empty() && !cc.redirect_uris.empty()
            ? "none"
            : "client_secret_basic";
  if (auto err = check_client_config(cc); !err.empty()) c.document().fail(c.pointer(), err);
  bool needs_secret = cc.token_endpoint_auth_method == "client_secret_basic" ||
                      cc.token_endpoint_auth_method == "client_secret_post";
  if (!hash_file.empty()) {
    // A mounted secret (Docker/Kubernetes): the hash is its first line.
    if (!cc.secret_hash.empty())
      c.fail("secret_hash_file", "give secret_hash or secret_hash_file, not both");
    auto hash = storage::read_first_line(hash_file);
    if (!hash) c.fail("secret_hash_file", "cannot read " + hash_file);
    cc.secret_hash = std::move(*hash);
  }
  std::string hash_key = hash_file.empty() ? "secret_hash" : "secret_hash_file";
  if (!needs_secret && !cc.secret_hash.empty())
    c.fail(hash_key, "a " + cc.token_endpoint_auth_method + " client has no secret");
  if (needs_secret && cc.secret_hash.rfind("$argon2id$", 0) != 0)
    c.fail(hash_key,
           "must be an $argon2id$ hash (create one with `bastion client add`), never a secret");
  // A hash that does not parse would fail in microseconds instead of
  // argon2id's tens of milliseconds: a timing tell, and a dead client.
  if (needs_secret && !well_formed_hash(cc.secret_hash))
    c.fail(hash_key, "is not a well-formed argon2id hash");
  for (const auto& d : cc.default_scopes)
    if (std::find(cc.scopes.begin(), cc.scopes.end(), d) == cc.scopes.end())
      c.fail("default_scopes", "'" + d + "' is not in scopes");
  return cc;
}

void read_lockout(config::Reader l, LockoutOptions& o) {
  o.pair_free = static_cast<int>(l.integer("free_failures", o.pair_free, 1, 1000000));
  o.source_free = static_cast<int>(l.integer("source_free_failures", o.source_free, 1, 1000000));
  o.client_free = static_cast<int>(l.integer("client_free_failures", o.client_free, 1, 1000000));
  o.max_backoff = std::chrono::seconds(l.integer("max_backoff", o.max_backoff.count(), 1, 86400));
  o.client_max_backoff =
      std::chrono::seconds(l.integer("client_max_backoff", o.client_max_backoff.count(), 1, 86400));
  o.forget_after =
      std::chrono::seconds(l.integer("forget_after", o.forget_after.count(), 1, 7 * 86400));
  o.max_entries = static_cast<std::size_t>(
      l.integer("max_entries", static_cast<std::int64_t>(o.max_entries), 100, 10000000));
  l.finish();
}

}  // namespace

std::string validate_issuer(std::string issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  if (auto why = issuer_problem(issuer); !why.empty())
    throw std::invalid_argument("auth.issuer: " + why);
  return issuer;
}

Options read_options(config::Reader& r, Options o) {
  constexpr auto kNoMax = std::numeric_limits<std::int64_t>::max();
  if (r.has("issuer") && r.has("public_url"))
    r.fail("public_url", "is another name for issuer: give one");
  std::string issuer_key = r.has("public_url") ? "public_url" : "issuer";
  if (auto issuer = r.opt_str("issuer") ? r.opt_str("issuer") : r.opt_str("public_url")) {
    o.issuer = *issuer;
    while (!o.issuer.empty() && o.issuer.back() == '/') o.issuer.pop_back();
    if (auto why = issuer_problem(o.issuer); !why.empty()) r.fail(issuer_key, why);
  }
  o.audience = r.str("audience", o.audience);
  o.resource_path = r.str("resource_path", o.resource_path);
  if (o.resource_path.empty() || o.resource_path[0] != '/')
    r.fail("resource_path", "must start with '/'");
  o.algorithm = r.choice("algorithm", o.algorithm, {"ES256", "RS256", "EdDSA", "HS256"});
  // OpenSSL refuses RSA moduli over 16384 bits.
  o.rsa_bits = static_cast<int>(r.integer("rsa_bits", o.rsa_bits, kMinRsaBits, kMaxRsaBits));
  o.token_lifetime =
      std::chrono::seconds(r.integer("token_lifetime", o.token_lifetime.count(), 1, kNoMax));
  o.clock_skew = std::chrono::seconds(r.integer("clock_skew", o.clock_skew.count(), 0, 600));
  o.data_dir = r.str("data_dir", o.data_dir.string());
  o.require_auth = r.boolean("require_auth", o.require_auth);

  for (auto& x : r.list("external_issuers")) {
    ExternalIssuer e{x.str("issuer", ""), x.str("jwks_url", ""), x.boolean("require_typ", true)};
    bool over_http = x.boolean("jwks_over_http", false);
    x.finish();
    if (e.issuer.empty()) x.fail("issuer", "is required");
    if (e.jwks_url.empty()) x.fail("jwks_url", "is required");
    if (auto why = jwks_url_problem(e.jwks_url, over_http); !why.empty()) x.fail("jwks_url", why);
    for (const auto& prev : o.external_issuers)
      if (prev.issuer == e.issuer) x.fail("issuer", "'" + e.issuer + "' is listed twice");
    o.external_issuers.push_back(std::move(e));
  }
  // The one-issuer shorthand comes first.
  auto ext_issuer = r.str("external_issuer", "");
  auto ext_jwks = r.str("external_jwks_url", "");
  if (ext_issuer.empty() != ext_jwks.empty())
    r.fail(ext_issuer.empty() ? "external_jwks_url" : "external_issuer",
           "external_issuer and external_jwks_url go together");
  if (!ext_issuer.empty()) {
    if (auto why = jwks_url_problem(ext_jwks, false); !why.empty())
      r.fail("external_jwks_url", why);
    for (const auto& prev : o.external_issuers)
      if (prev.issuer == ext_issuer)
        r.fail("external_issuer", "'" + ext_issuer + "' is listed twice");
    o.external_issuers.insert(o.external_issuers.begin(),
                              ExternalIssuer{ext_issuer, ext_jwks, true});
  }

  read_lockout(r.child("lockout"), o.lockout);
  o.trusted_proxies = r.words("trusted_proxies");
  for (const auto& p : o.trusted_proxies)
    if (!IpNetwork::parse(p))
      r.fail("trusted_proxies", "'" + p + "' is not an IP address or network (a.b.c.d/n)");
  o.hash_threads = static_cast<std::size_t>(
      r.integer("hash_threads", static_cast<std::int64_t>(o.hash_threads), 1, 64));
  o.hash_queue = static_cast<std::size_t>(
      r.integer("hash_queue", static_cast<std::int64_t>(o.hash_queue), 1, 4096));
  o.failure_audit_interval = std::chrono::seconds(
      r.integer("failure_audit_interval", o.failure_audit_interval.count(), 1, 86400));
  o.max_token_bytes = static_cast<std::size_t>(
      r.integer("max_token_bytes", static_cast<std::int64_t>(o.max_token_bytes), 512, kNoMax));
  o.token_cache = static_cast<std::size_t>(
      r.integer("token_cache", static_cast<std::int64_t>(o.token_cache), 0, 1'000'000));
  o.realm = r.str("realm", o.realm);
  if (o.realm.find('"') != std::string::npos) r.fail("realm", "must not contain '\"'");

  for (auto& c : r.list("clients")) {
    auto cc = read_client(c);
    for (const auto& prev : o.clients)
      if (prev.id == cc.id)
        c.fail(c.has("id") ? "id" : "client_id", "duplicate client id '" + cc.id + "'");
    o.clients.push_back(std::move(cc));
  }
  read_signin_settings(r, o.signin);
  return o;
}

}  // namespace bastion::auth
