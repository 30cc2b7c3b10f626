#include "auth/options.hpp"

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <stdexcept>

#include "auth/clients.hpp"
#include "auth/jwk.hpp"
#include "auth/signin_clients.hpp"
#include "storage/private_file.hpp"

namespace bastion::auth {

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

[[noreturn]] void bad(std::string_view key, std::string_view what) {
  throw std::invalid_argument("auth." + std::string(key) + ": " + std::string(what));
}

std::string get_string(const boost::json::value& v, std::string_view key) {
  if (!v.is_string()) bad(key, "expected a string");
  return std::string(v.get_string());
}

std::int64_t get_int(const boost::json::value& v, std::string_view key, std::int64_t min,
                     std::int64_t max = INT64_MAX) {
  if (!v.is_int64() && !(v.is_uint64() && v.get_uint64() <= std::uint64_t(INT64_MAX)))
    bad(key, "expected an integer");
  std::int64_t n = v.is_int64() ? v.get_int64() : static_cast<std::int64_t>(v.get_uint64());
  if (n < min) bad(key, "must be at least " + std::to_string(min));
  if (n > max) bad(key, "must be at most " + std::to_string(max));
  return n;
}

bool get_bool(const boost::json::value& v, std::string_view key) {
  if (!v.is_bool()) bad(key, "expected true or false");
  return v.get_bool();
}

void check_external(const ExternalIssuer& x, const std::string& at) {
  if (x.issuer.empty()) bad(at + ".issuer", "is required");
  if (x.jwks_url.empty()) bad(at + ".jwks_url", "is required");
  auto u = boost::urls::parse_absolute_uri(x.jwks_url);
  if (!u) bad(at + ".jwks_url", "'" + x.jwks_url + "' is not an absolute URL");
  // The fetcher speaks plain HTTP; an https JWKS goes through a local
  // TLS-terminating proxy (or a sidecar), never silently unfetched.
  if (u->scheme() != "http")
    bad(at + ".jwks_url", "must be http:// (fetch an https JWKS through a local TLS proxy)");
}

std::vector<std::string> get_strings(const boost::json::value& v, std::string_view key) {
  std::vector<std::string> out;
  if (v.is_string()) {  // "a b c" is accepted like the scope parameter
    std::string_view s = v.get_string();
    std::size_t i = 0;
    while (i < s.size()) {
      auto j = s.find(' ', i);
      if (j == std::string_view::npos) j = s.size();
      if (j > i) out.emplace_back(s.substr(i, j - i));
      i = j + 1;
    }
    return out;
  }
  if (!v.is_array()) bad(key, "expected an array of strings");
  for (const auto& e : v.get_array()) out.push_back(get_string(e, key));
  return out;
}

}  // namespace

std::optional<Network> parse_network(std::string_view text) {
  boost::system::error_code ec;
  std::string t(text);
  auto slash = t.find('/');
  auto addr = boost::asio::ip::make_address(t.substr(0, slash), ec);
  if (ec) return std::nullopt;
  int max = addr.is_v4() ? 32 : 128;
  int bits = max;
  if (slash != std::string::npos) {
    std::string b = t.substr(slash + 1);
    if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    bits = std::stoi(b);
    if (bits > max) return std::nullopt;
  }
  return Network{addr, bits};
}

bool Network::contains(const boost::asio::ip::address& a) const {
  auto bytes = [](const boost::asio::ip::address& x) {
    std::array<unsigned char, 16> out{};
    if (x.is_v4()) {
      auto b = x.to_v4().to_bytes();
      std::copy(b.begin(), b.end(), out.begin());
    } else {
      out = x.to_v6().to_bytes();
    }
    return out;
  };
  // An IPv4 peer may arrive as ::ffff:a.b.c.d on a dual-stack socket.
  boost::asio::ip::address x = a;
  if (x.is_v6() && x.to_v6().is_v4_mapped())
    x = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, x.to_v6());
  if (x.is_v4() != address.is_v4()) return false;
  auto p = bytes(address), q = bytes(x);
  int full = prefix / 8, rest = prefix % 8;
  for (int i = 0; i < full; ++i)
    if (p[i] != q[i]) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (p[full] & mask) == (q[full] & mask);
}

std::string validate_issuer(std::string issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  auto u = boost::urls::parse_absolute_uri(issuer);
  if (!u) bad("issuer", "'" + issuer + "' is not an absolute URL");
  if (u->scheme() != "https" && u->scheme() != "http") bad("issuer", "scheme must be http(s)");
  if (u->has_query() || u->has_fragment()) bad("issuer", "must not have a query or fragment");
  if (u->host().empty()) bad("issuer", "has no host");
  return issuer;
}

Options options_from_json(const boost::json::object& o) {
  Options opt;
  std::string ext_issuer, ext_jwks;
  for (const auto& [k, v] : o) {
    if (k == "issuer" || k == "public_url") {
      opt.issuer = validate_issuer(get_string(v, k));
    } else if (k == "audience") {
      opt.audience = get_string(v, k);
    } else if (k == "resource_path") {
      opt.resource_path = get_string(v, k);
      if (opt.resource_path.empty() || opt.resource_path[0] != '/') bad(k, "must start with '/'");
    } else if (k == "algorithm") {
      opt.algorithm = get_string(v, k);
      auto a = alg_from_name(opt.algorithm);
      if (!a || (*a != Alg::kES256 && *a != Alg::kRS256 && *a != Alg::kEdDSA && *a != Alg::kHS256))
        bad(k, "must be ES256, RS256, EdDSA or HS256");
    } else if (k == "rsa_bits") {
      opt.rsa_bits = static_cast<int>(get_int(v, k, kMinRsaBits));
    } else if (k == "token_lifetime") {
      opt.token_lifetime = std::chrono::seconds(get_int(v, k, 1));
    } else if (k == "clock_skew") {
      opt.clock_skew = std::chrono::seconds(get_int(v, k, 0));
      if (opt.clock_skew.count() > 600) bad(k, "more than 600 seconds is not a clock skew");
    } else if (k == "data_dir") {
      opt.data_dir = get_string(v, k);
    } else if (k == "require_auth") {
      opt.require_auth = get_bool(v, k);
    } else if (k == "external_issuer") {
      ext_issuer = get_string(v, k);
    } else if (k == "external_jwks_url") {
      ext_jwks = get_string(v, k);
    } else if (k == "external_issuers") {
      if (!v.is_array()) bad(k, "expected an array of {issuer, jwks_url, require_typ}");
      std::size_t i = 0;
      for (const auto& e : v.get_array()) {
        std::string at = "external_issuers[" + std::to_string(i++) + "]";
        if (!e.is_object()) bad(at, "expected an object");
        ExternalIssuer x;
        for (const auto& [ek, ev] : e.get_object()) {
          std::string key = at + "." + std::string(ek);
          if (ek == "issuer")
            x.issuer = get_string(ev, key);
          else if (ek == "jwks_url")
            x.jwks_url = get_string(ev, key);
          else if (ek == "require_typ")
            x.require_typ = get_bool(ev, key);
          else
            bad(key, "unknown key");
        }
        check_external(x, at);
        opt.external_issuers.push_back(std::move(x));
      }
    } else if (k == "lockout") {
      if (!v.is_object()) bad(k, "expected a mapping");
      auto& l = opt.lockout;
      for (const auto& [lk, lv] : v.get_object()) {
        std::string key = "lockout." + std::string(lk);
        if (lk == "free_failures")
          l.pair_free = static_cast<int>(get_int(lv, key, 1, 1000000));
        else if (lk == "source_free_failures")
          l.source_free = static_cast<int>(get_int(lv, key, 1, 1000000));
        else if (lk == "client_free_failures")
          l.client_free = static_cast<int>(get_int(lv, key, 1, 1000000));
        else if (lk == "max_backoff")
          l.max_backoff = std::chrono::seconds(get_int(lv, key, 1, 86400));
        else if (lk == "client_max_backoff")
          l.client_max_backoff = std::chrono::seconds(get_int(lv, key, 1, 86400));
        else if (lk == "forget_after")
          l.forget_after = std::chrono::seconds(get_int(lv, key, 1, 7 * 86400));
        else if (lk == "max_entries")
          l.max_entries = static_cast<std::size_t>(get_int(lv, key, 100, 10000000));
        else
          bad(key, "unknown key");
      }
    } else if (k == "trusted_proxies") {
      opt.trusted_proxies = get_strings(v, k);
      for (const auto& p : opt.trusted_proxies)
        if (!parse_network(p)) bad(k, "'" + p + "' is not an IP address or network (a.b.c.d/n)");
    } else if (k == "hash_threads") {
      opt.hash_threads = static_cast<std::size_t>(get_int(v, k, 1, 64));
    } else if (k == "hash_queue") {
      opt.hash_queue = static_cast<std::size_t>(get_int(v, k, 1, 4096));
    } else if (k == "failure_audit_interval") {
      opt.failure_audit_interval = std::chrono::seconds(get_int(v, k, 1, 86400));
    } else if (k == "max_token_bytes") {
      opt.max_token_bytes = static_cast<std::size_t>(get_int(v, k, 512));
    } else if (k == "token_cache") {
      opt.token_cache = static_cast<std::size_t>(get_int(v, k, 0));
      if (opt.token_cache > 1'000'000) bad(k, "at most 1000000 tokens");
    } else if (k == "realm") {
      opt.realm = get_string(v, k);
      if (opt.realm.find('"') != std::string::npos) bad(k, "must not contain '\"'");
    } else if (k == "clients") {
      if (!v.is_array()) bad(k, "expected an array of clients");
      std::size_t i = 0;
      for (const auto& c : v.get_array()) {
        std::string at = "clients[" + std::to_string(i++) + "]";
        if (!c.is_object()) bad(at, "expected an object");
        ClientConfig cc;
        std::string hash_file;
        bool explicit_grants = false;
        for (const auto& [ck, cv] : c.get_object()) {
          std::string key = at + "." + std::string(ck);
          if (ck == "id" || ck == "client_id")
            cc.id = get_string(cv, key);
          else if (ck == "secret_hash")
            cc.secret_hash = get_string(cv, key);
          else if (ck == "secret_hash_file")
            hash_file = get_string(cv, key);
          else if (ck == "scopes")
            cc.scopes = get_strings(cv, key);
          else if (ck == "default_scopes")
            cc.default_scopes = get_strings(cv, key);
          else if (ck == "grant_types") {
            cc.grant_types = get_strings(cv, key);
            explicit_grants = true;
          } else if (ck == "client_name")
            cc.client_name = get_string(cv, key);
          else if (ck == "redirect_uris")
            cc.redirect_uris = get_strings(cv, key);
          else if (ck == "token_endpoint_auth_method")
            cc.token_endpoint_auth_method = get_string(cv, key);
          else if (ck == "jwks") {
            if (!cv.is_object()) bad(key, "expected a JWK Set");
            cc.jwks = cv.get_object();
          } else if (ck == "jwks_uri")
            cc.jwks_uri = get_string(cv, key);
          else
            bad(key, "unknown key");
        }
        if (cc.id.empty()) bad(at + ".id", "is required");
        if (!cc.redirect_uris.empty() && !explicit_grants)
          cc.grant_types = {"authorization_code", "refresh_token"};
        if (cc.token_endpoint_auth_method.empty())
          cc.token_endpoint_auth_method =
              cc.secret_hash.empty() && hash_file.empty() && !cc.redirect_uris.empty()
                  ? "none"
                  : "client_secret_basic";
        if (auto err = check_client_config(cc); !err.empty()) bad(at, err);
        bool needs_secret = cc.token_endpoint_auth_method == "client_secret_basic" ||
                            cc.token_endpoint_auth_method == "client_secret_post";
        if (!hash_file.empty()) {
          // A mounted secret (Docker/Kubernetes): the hash is its first line.
          if (!cc.secret_hash.empty())
            bad(at + ".secret_hash_file", "give secret_hash or secret_hash_file, not both");
          auto hash = storage::read_first_line(hash_file);
          if (!hash) bad(at + ".secret_hash_file", "cannot read " + hash_file);
          cc.secret_hash = std::move(*hash);
        }
        if (!needs_secret && !cc.secret_hash.empty())
          bad(at + ".secret_hash", "a " + cc.token_endpoint_auth_method + " client has no secret");
        if (needs_secret && cc.secret_hash.rfind("$argon2id$", 0) != 0)
          bad(at + ".secret_hash",
              "must be an $argon2id$ hash (create one with `bastion client add`), never a secret");
        // A hash that does not parse would fail in microseconds instead of
        // argon2id's tens of milliseconds: a timing tell, and a dead client.
        if (needs_secret && !well_formed_hash(cc.secret_hash))
          bad(at + ".secret_hash", "is not a well-formed argon2id hash");
        for (const auto& d : cc.default_scopes) {
          bool allowed = false;
          for (const auto& s : cc.scopes) allowed = allowed || s == d;
          if (!allowed) bad(at + ".default_scopes", "'" + d + "' is not in scopes");
        }
        for (const auto& prev : opt.clients)
          if (prev.id == cc.id) bad(at + ".id", "duplicate client id '" + cc.id + "'");
        opt.clients.push_back(std::move(cc));
      }
    } else if (is_signin_key(k)) {
      parse_signin_key(opt.signin, k, v);
    } else {
      bad(k, "unknown key");
    }
  }
  if (ext_issuer.empty() != ext_jwks.empty())
    bad("external_issuer", "external_issuer and external_jwks_url go together");
  if (!ext_issuer.empty()) {
    ExternalIssuer x{ext_issuer, ext_jwks, true};
    check_external(x, "external_issuer");
    opt.external_issuers.insert(opt.external_issuers.begin(), std::move(x));
  }
  for (std::size_t i = 0; i < opt.external_issuers.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (opt.external_issuers[i].issuer == opt.external_issuers[j].issuer)
        bad("external_issuers", "'" + opt.external_issuers[i].issuer + "' is listed twice");
  return opt;
}

}  // namespace bastion::auth
