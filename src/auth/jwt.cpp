#include "auth/jwt.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <cmath>

#include "auth/token_cache.hpp"
#include "protocol/jsonrpc.hpp"

namespace bastion::auth {

using boost::beast::iequals;  // ASCII, as the names compared are

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
  p.issuer = iss;
  p.subject = sub;
  p.client_id = client_id;
  p.scopes = scopes;
  p.authenticated = true;
  p.issued_at = iat;
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
      clock_(std::move(clock)),
      cache_(std::make_shared<VerifiedTokenCache>(options_.verified_cache_entries)) {}

void TokenValidator::clear_cache() const { cache_->clear(); }
std::size_t TokenValidator::cached_tokens() const { return cache_->size(); }

namespace {

const json::string* str_claim(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_string() ? &it->value().get_string() : nullptr;
}

// A required claim that must be a non-empty string.
Result<std::string> required_string(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  if (it == o.end()) return fail("token has no " + std::string(name));
  if (!it->value().is_string() || it->value().get_string().empty())
    return fail(std::string(name) + " is not a non-empty string");
  return std::string(it->value().get_string());
}

// a + b for values the callers bounded (dates <= kMaxNumericDate, skew and
// clock checked), saturating instead of overflowing should that ever change.
std::int64_t add_sat(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

}  // namespace

Result<std::optional<std::int64_t>> numeric_date(const json::object& claims,
                                                 std::string_view name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<std::int64_t>();
  const json::value& v = it->value();
  auto bad = [&](std::string_view why) {
    return fail(std::string(name) + " is not a valid NumericDate (" + std::string(why) + ")");
  };
  std::int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64()) {
    if (v.get_uint64() > std::uint64_t(kMaxNumericDate)) return bad("after the year 9999");
    n = std::int64_t(v.get_uint64());
  } else if (v.is_double()) {
    // A JSON number with a fraction or exponent: only a whole second in range.
    double d = v.get_double();
    if (!std::isfinite(d) || d < 0 || d > double(kMaxNumericDate)) return bad("out of range");
    if (std::floor(d) != d) return bad("not a whole number of seconds");
    n = static_cast<std::int64_t>(d);
  } else {
    return bad("not a number");
  }
  if (n < 0) return bad("negative");
  if (n > kMaxNumericDate) return bad("after the year 9999");
  return std::optional<std::int64_t>(n);
}

namespace {

// The payload of a compact JWS, not verified: only to choose whose keys
// verify it. jws_peek_header has checked the shape and size already.
Result<json::object> peek_claims(std::string_view token) {
  auto d1 = token.find('.');
  auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return fail("token is not a compact JWS");
  auto bytes = b64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  if (!bytes) return fail("JWS payload is not base64url");
  auto parsed = protocol::parse_json(*bytes);
  if (const auto* e = parsed ? nullptr : &parsed.error())
    return fail("claims are not JSON: " + e->message);
  json::value& v = parsed.value();
  if (!v.is_object()) return fail("claims are not a JSON object");
  return std::move(v.as_object());
}

}  // namespace

Result<AccessToken> TokenValidator::validate(std::string_view token) const {
  if (token.size() > options_.max_token_bytes) return fail("token too large");
  if (cache_->capacity() == 0) {
    VerifiedBy by;
    auto t = validate_uncached(token, &by);
    if (!t) return t;
    return admit(by.issuer, std::move(t.value()));
  }
  const auto digest = VerifiedTokenCache::digest(token);
  if (auto hit = cache_->find(digest)) {
    // What the signature proved still holds; what time, a revocation or a key
    // change can undo is checked again now.
    const AccessToken& t = hit->token;
    if (t.exp <= clock_() - options_.clock_skew.count()) {
      cache_->erase(digest);
      return fail("token expired");
    }
    if (issuers_[hit->issuer].find_key(hit->kid) == hit->key) {
      if (is_revoked_ && is_revoked_(t.jti)) return fail("token revoked");
      return admit(hit->issuer, t);
    }
    // The key is gone or was replaced: forget it, and verify from scratch.
    cache_->erase(digest);
  }
  const std::uint64_t generation = cache_->generation();
  VerifiedBy by;
  auto t = validate_uncached(token, &by);
  if (!t) return t;
  auto entry = std::make_shared<VerifiedTokenCache::Entry>();
  entry->token = t.value();
  entry->issuer = by.issuer;
  entry->kid = std::move(by.kid);
  entry->key = std::move(by.key);
  cache_->insert(digest, std::move(entry), generation);
  return admit(by.issuer, std::move(t.value()));
}

Result<AccessToken> TokenValidator::validate_uncached(std::string_view token,
                                                      VerifiedBy* by) const {
  auto header = jws_peek_header(token, options_.max_token_bytes);
  if (!header) return header.error();
  const json::string* kid = str_claim(header.value(), "kid");
  if (!kid) return fail("token header has no kid");
  // The issuer is chosen by the (not yet verified) `iss`, then the key in its
  // own key set: two issuers may publish the same kid, and one must not be
  // able to shadow the other's keys by doing so. `iss` is checked again on
  // the verified claims below.
  auto peek = peek_claims(token);
  if (!peek) return peek.error();
  const json::string* claimed_iss = str_claim(peek.value(), "iss");
  if (!claimed_iss) return fail("token has no iss");
  const TrustedIssuer* issuer = nullptr;
  for (const auto& is : issuers_)
    if (is.issuer == *claimed_iss) {
      issuer = &is;
      break;
    }
  if (!issuer) return fail("wrong issuer");
  std::shared_ptr<const Key> key = issuer->find_key(*kid);
  if (!key) return fail("unknown signing key");
  *by = VerifiedBy{static_cast<std::size_t>(issuer - issuers_.data()), std::string(*kid), key};
  if (key->symmetric() && !issuer->own)
    return fail("symmetric keys are only trusted for our own tokens");

  auto jws = jws_verify(token, *key, JwsVerifyOptions{.max_token_bytes = options_.max_token_bytes});
  if (!jws) return jws.error();

  // RFC 9068 §4: typ "at+jwt" (RFC 7515 §4.1.9: "application/" may be added,
  // media types compare case-insensitively).
  auto typ_it = jws->header.find("typ");
  if (typ_it != jws->header.end() && !typ_it->value().is_string())
    return fail("typ is not a string");
  const json::string* typ = str_claim(jws->header, "typ");
  bool at_jwt = typ && (iequals(*typ, "at+jwt") || iequals(*typ, "application/at+jwt"));
  if (issuer->require_typ && !at_jwt) return fail("typ is not at+jwt");
  if (!issuer->require_typ && typ && !at_jwt && !iequals(*typ, "JWT"))
    return fail("typ is neither at+jwt nor JWT");

  auto parsed = protocol::parse_json(jws->payload);
  if (const auto* e = parsed ? nullptr : &parsed.error())
    return fail("claims are not JSON: " + e->message);
  const json::value& pv = parsed.value();
  if (!pv.is_object()) return fail("claims are not a JSON object");
  const json::object& c = pv.as_object();

  AccessToken t;
  const json::string* iss = str_claim(c, "iss");
  if (!iss || *iss != issuer->issuer) return fail("wrong issuer");
  t.iss = std::string(*iss);

  if (auto it = c.find("aud"); it != c.end()) {
    if (it->value().is_string()) {
      t.aud.emplace_back(it->value().get_string());
    } else if (it->value().is_array()) {
      for (const auto& a : it->value().get_array()) {
        if (!a.is_string()) return fail("aud holds a non-string");
        t.aud.emplace_back(a.get_string());
      }
    } else {
      return fail("aud is neither a string nor an array of strings");
    }
  }
  if (std::find(t.aud.begin(), t.aud.end(), options_.audience) == t.aud.end())
    return fail("wrong audience");

  // Time: every date is bounded by numeric_date and the clock and skew are
  // checked here, so no sum below can overflow.
  std::int64_t now = clock_();
  std::int64_t skew = options_.clock_skew.count();
  if (now < 0 || now > kMaxNumericDate) return fail("the system clock is out of range");
  if (skew < 0 || skew > 86400) return fail("clock skew out of range");
  auto exp_r = numeric_date(c, "exp");
  if (!exp_r) return exp_r.error();
  if (!exp_r.value()) return fail("token has no exp");
  const std::int64_t exp = *exp_r.value();
  if (now >= add_sat(exp, skew)) return fail("token expired");
  t.exp = exp;
  auto nbf_r = numeric_date(c, "nbf");
  if (!nbf_r) return nbf_r.error();
  if (nbf_r.value()) {
    if (add_sat(now, skew) < *nbf_r.value()) return fail("token not yet valid");
    t.nbf = nbf_r.value();
  }
  auto iat_r = numeric_date(c, "iat");
  if (!iat_r) return iat_r.error();
  if (!iat_r.value()) return fail("token has no iat");
  const std::int64_t iat = *iat_r.value();
  if (iat > add_sat(now, skew)) return fail("token issued in the future");
  if (iat > exp) return fail("token expires before it was issued");
  t.iat = iat;

  auto sub = required_string(c, "sub");
  if (!sub) return sub.error();
  t.sub = std::move(sub.value());
  auto cid = required_string(c, "client_id");
  if (!cid) return cid.error();
  t.client_id = std::move(cid.value());
  auto jti = required_string(c, "jti");
  if (!jti) return jti.error();
  t.jti = std::move(jti.value());
  if (is_revoked_ && is_revoked_(t.jti)) return fail("token revoked");

  if (auto it = c.find("scope"); it != c.end()) {
    if (!it->value().is_string()) return fail("scope is not a string");
    t.scopes = split_scopes(it->value().get_string());
  }
  return t;
}

Result<AccessToken> TokenValidator::admit(std::size_t issuer, AccessToken t) const {
  // Run on every use, cached or not: a client removed or narrowed since the
  // token was verified loses it at once.
  if (const auto& admit = issuers_[issuer].admit) {
    auto ok = admit(t);
    if (!ok) return ok.error();
  }
  return t;
}

}  // namespace bastion::auth
