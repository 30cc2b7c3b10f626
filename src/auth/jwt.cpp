#include "auth/jwt.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace bastion::auth {

std::vector<std::string> split_scopes(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) {
      std::string part(s.substr(i, j - i));
      if (std::find(out.begin(), out.end(), part) == out.end()) out.push_back(std::move(part));
    }
    i = j + 1;
  }
  return out;
}

std::string join_scopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

std::string AccessToken::scope_string() const { return join_scopes(scopes); }

protocol::Principal AccessToken::principal() const {
  protocol::Principal p;
  p.subject = sub;
  p.client_id = client_id;
  p.scopes = scopes;
  p.authenticated = true;
  return p;
}

std::string new_jti() { return b64url_encode(random_bytes(16)); }

Result<std::string> issue_access_token(const Key& key, const AccessToken& c) {
  json::object claims;
  claims["iss"] = c.iss;
  claims["sub"] = c.sub;
  if (c.aud.size() == 1) {
    claims["aud"] = c.aud.front();
  } else {
    json::array a;
    for (const auto& x : c.aud) a.emplace_back(x);
    claims["aud"] = std::move(a);
  }
  claims["client_id"] = c.client_id;
  claims["scope"] = c.scope_string();
  claims["iat"] = c.iat;
  if (c.nbf) claims["nbf"] = *c.nbf;
  claims["exp"] = c.exp;
  claims["jti"] = c.jti;
  return jws_sign(key, json::serialize(claims),
                  json::object{{"typ", "at+jwt"}, {"kid", key.kid()}});
}

TokenValidator::TokenValidator(ValidatorOptions options, std::vector<TrustedIssuer> issuers,
                               std::function<bool(std::string_view)> is_revoked, Clock clock)
    : options_(std::move(options)),
      issuers_(std::move(issuers)),
      is_revoked_(std::move(is_revoked)),
      clock_(std::move(clock)) {}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::int64_t> int_claim(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  if (it == o.end()) return std::nullopt;
  const json::value& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= uint64_t(INT64_MAX)) return int64_t(v.get_uint64());
  if (v.is_double()) {  // NumericDate may be real
    // Only what int64 holds: converting 1e121 (or NaN) is undefined (found by
    // fuzz/jwt under UBSan); such a date is refused as not a number.
    double d = v.get_double();
    if (!(d >= -9.2e18 && d <= 9.2e18)) return std::nullopt;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

const json::string* str_claim(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_string() ? &it->value().get_string() : nullptr;
}

}  // namespace

Result<AccessToken> TokenValidator::validate(std::string_view token) const {
  if (token.size() > options_.max_token_bytes) return fail("token too large");
  auto header = jws_peek_header(token, options_.max_token_bytes);
  if (!header) return header.error();
  const json::string* kid = str_claim(header.value(), "kid");
  if (!kid) return fail("token header has no kid");
  const TrustedIssuer* issuer = nullptr;
  std::shared_ptr<const Key> key;
  for (const auto& is : issuers_) {
    if ((key = is.find_key(*kid))) {
      issuer = &is;
      break;
    }
  }
  if (!key) return fail("unknown signing key");
  if (key->symmetric() && !issuer->strict_rfc9068)
    return fail("symmetric keys are only trusted for our own tokens");

  auto jws = jws_verify(token, *key, JwsVerifyOptions{.max_token_bytes = options_.max_token_bytes});
  if (!jws) return jws.error();

  const json::string* typ = str_claim(jws->header, "typ");
  bool at_jwt = typ && (iequals(*typ, "at+jwt") || iequals(*typ, "application/at+jwt"));
  if (issuer->strict_rfc9068 && !at_jwt) return fail("typ is not at+jwt");
  if (!issuer->strict_rfc9068 && typ && !at_jwt && !iequals(*typ, "JWT"))
    return fail("typ is neither at+jwt nor JWT");

  boost::system::error_code ec;
  json::parse_options popts;
  popts.max_depth = 16;
  json::value pv = json::parse(jws->payload, ec, {}, popts);
  if (ec || !pv.is_object()) return fail("claims are not a JSON object");
  const json::object& c = pv.as_object();

  AccessToken t;
  const json::string* iss = str_claim(c, "iss");
  if (!iss || *iss != issuer->issuer) return fail("wrong issuer");
  t.iss = std::string(*iss);

  if (auto it = c.find("aud"); it != c.end()) {
    if (it->value().is_string()) {
      t.aud.emplace_back(it->value().get_string());
    } else if (it->value().is_array()) {
      for (const auto& a : it->value().get_array())
        if (a.is_string()) t.aud.emplace_back(a.get_string());
    }
  }
  if (std::find(t.aud.begin(), t.aud.end(), options_.audience) == t.aud.end())
    return fail("wrong audience");

  std::int64_t now = clock_();
  std::int64_t skew = options_.clock_skew.count();
  auto exp = int_claim(c, "exp");
  if (!exp) return fail("token has no exp");
  // now - skew, not exp + skew: an exp near INT64_MAX overflowed (undefined
  // behaviour; found by fuzz/jwt under UBSan).
  if (*exp <= now - skew) return fail("token expired");
  t.exp = *exp;
  if (c.contains("nbf")) {
    auto nbf = int_claim(c, "nbf");
    if (!nbf) return fail("nbf is not a number");
    if (now + skew < *nbf) return fail("token not yet valid");
    t.nbf = nbf;
  }
  auto iat = int_claim(c, "iat");
  if (c.contains("iat") && !iat) return fail("iat is not a number");
  if (!iat && issuer->strict_rfc9068) return fail("token has no iat");
  if (iat && *iat > now + skew) return fail("token issued in the future");
  t.iat = iat.value_or(0);

  const json::string* sub = str_claim(c, "sub");
  if (!sub) return fail("token has no sub");
  t.sub = std::string(*sub);
  if (const json::string* cid = str_claim(c, "client_id")) {
    t.client_id = std::string(*cid);
  } else if (issuer->strict_rfc9068) {
    return fail("token has no client_id");
  } else if (const json::string* azp = str_claim(c, "azp")) {
    t.client_id = std::string(*azp);
  } else {
    t.client_id = t.sub;
  }
  if (const json::string* jti = str_claim(c, "jti")) {
    t.jti = std::string(*jti);
  } else if (issuer->strict_rfc9068) {
    return fail("token has no jti");
  }
  if (!t.jti.empty() && is_revoked_ && is_revoked_(t.jti)) return fail("token revoked");

  if (const json::string* scope = str_claim(c, "scope")) {
    t.scopes = split_scopes(*scope);
  } else if (auto it = c.find("scp"); it != c.end() && !issuer->strict_rfc9068) {
    if (it->value().is_array()) {
      for (const auto& s : it->value().get_array())
        if (s.is_string()) t.scopes.emplace_back(s.get_string());
    } else if (it->value().is_string()) {
      t.scopes = split_scopes(it->value().get_string());
    }
  }
  return t;
}

// --- external JWKS ------------------------------------------------------------

std::vector<std::shared_ptr<const Key>> parse_jwks(const json::value& jwks) {
  std::vector<std::shared_ptr<const Key>> out;
  if (!jwks.is_object()) return out;
  auto it = jwks.as_object().find("keys");
  if (it == jwks.as_object().end() || !it->value().is_array()) return out;
  for (const auto& k : it->value().get_array()) {
    if (!k.is_object()) continue;
    const json::object& o = k.get_object();
    // We select by kid: a key without a usable one (absent, not a string, or
    // empty: found by fuzz/jwk) is skipped.
    const json::string* kid = str_claim(o, "kid");
    if (!kid || kid->empty()) continue;
    std::optional<Alg> hint;
    const json::string* kty = str_claim(o, "kty");
    if (!kty || *kty == "oct") continue;  // never trust published symmetric keys
    if (*kty == "RSA" && !o.contains("alg")) hint = Alg::kRS256;
    auto key = Key::from_jwk(o, hint);
    if (!key) {
      spdlog::debug("auth: skipping JWKS key: {}", key.reason());
      continue;
    }
    out.push_back(std::make_shared<const Key>(std::move(key.value())));
  }
  return out;
}

ExternalJwks::ExternalJwks(std::string url, FetchFn fetch, Clock clock,
                           std::chrono::seconds min_refresh)
    : url_(std::move(url)),
      fetch_(std::move(fetch)),
      clock_(std::move(clock)),
      min_refresh_(min_refresh) {}

Result<std::size_t> ExternalJwks::refresh_locked(std::int64_t now) {
  last_fetch_ = now;
  fetched_ = true;
  auto body = fetch_(url_);
  if (!body) return fail("JWKS fetch from " + url_ + " failed: " + body.reason());
  boost::system::error_code ec;
  json::value v = json::parse(body.value(), ec);
  if (ec) return fail("JWKS from " + url_ + " is not JSON");
  keys_ = parse_jwks(v);
  return keys_.size();
}

Result<std::size_t> ExternalJwks::refresh() {
  std::lock_guard lock(mu_);
  return refresh_locked(clock_());
}

std::shared_ptr<const Key> ExternalJwks::find(std::string_view kid) {
  std::lock_guard lock(mu_);
  for (const auto& k : keys_)
    if (k->kid() == kid) return k;
  std::int64_t now = clock_();
  if (fetched_ && now - last_fetch_ < min_refresh_.count()) return nullptr;
  auto r = refresh_locked(now);
  if (!r) {
    spdlog::warn("auth: {}", r.reason());
    return nullptr;
  }
  for (const auto& k : keys_)
    if (k->kid() == kid) return k;
  return nullptr;
}

std::size_t ExternalJwks::size() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

}  // namespace bastion::auth
