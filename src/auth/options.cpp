#include "auth/options.hpp"

#include <boost/url/parse.hpp>
#include <stdexcept>

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

std::int64_t get_int(const boost::json::value& v, std::string_view key, std::int64_t min) {
  if (!v.is_int64() && !v.is_uint64()) bad(key, "expected an integer");
  std::int64_t n = v.is_int64() ? v.get_int64() : static_cast<std::int64_t>(v.get_uint64());
  if (n < min) bad(key, "must be at least " + std::to_string(min));
  return n;
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
      if (!v.is_bool()) bad(k, "expected true or false");
      opt.require_auth = v.get_bool();
    } else if (k == "external_issuer") {
      opt.external_issuer = get_string(v, k);
    } else if (k == "external_jwks_url") {
      opt.external_jwks_url = get_string(v, k);
      if (!boost::urls::parse_absolute_uri(opt.external_jwks_url)) bad(k, "not an absolute URL");
    } else if (k == "max_token_bytes") {
      opt.max_token_bytes = static_cast<std::size_t>(get_int(v, k, 512));
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
  if (opt.external_issuer.empty() != opt.external_jwks_url.empty())
    bad("external_issuer", "external_issuer and external_jwks_url go together");
  return opt;
}

}  // namespace bastion::auth
