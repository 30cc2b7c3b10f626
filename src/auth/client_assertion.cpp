#include "auth/client_assertion.hpp"

#include <boost/json.hpp>

#include "auth/jws.hpp"
#include "auth/jwt.hpp"

namespace bastion::auth {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxAssertionBytes = 8192;

std::optional<json::object> payload_of(std::string_view token) {
  auto a = token.find('.'), b = token.rfind('.');
  if (a == std::string_view::npos || a == b) return std::nullopt;
  auto raw = b64url_decode(token.substr(a + 1, b - a - 1));
  if (!raw) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(*raw, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.get_object();
}

std::string s(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

Result<std::string> assertion_client_id(std::string_view assertion) {
  if (assertion.size() > kMaxAssertionBytes) return fail("client assertion is too large");
  auto p = payload_of(assertion);
  if (!p) return fail("client assertion is not a JWT");
  std::string iss = s(*p, "iss"), sub = s(*p, "sub");
  if (sub.empty() || iss != sub) return fail("client assertion: iss and sub must be the client_id");
  return sub;
}

Status verify_client_assertion(std::string_view assertion, std::string_view client_id,
                               const std::vector<std::shared_ptr<const Key>>& keys,
                               const AssertionRules& rules, RecordStore* replay) {
  auto header = jws_peek_header(assertion, kMaxAssertionBytes);
  if (!header) return fail("client assertion: " + header.reason());
  auto* alg = header->if_contains("alg");
  if (!alg || !alg->is_string()) return fail("client assertion has no alg");
  auto a = alg_from_name(alg->get_string());
  if (!a || is_symmetric(*a)) return fail("client assertion must use an asymmetric algorithm");
  std::string kid;
  if (auto* k = header->if_contains("kid"); k && k->is_string()) kid = std::string(k->get_string());
  std::optional<VerifiedJws> verified;
  for (const auto& key : keys) {
    if (!key || key->symmetric() || key->alg() != *a) continue;
    if (!kid.empty() && key->kid() != kid) continue;
    auto v = jws_verify(assertion, *key, {.max_token_bytes = kMaxAssertionBytes});
    if (v) {
      verified = std::move(v.value());
      break;
    }
  }
  if (!verified) return fail("client assertion signature does not verify with the client's keys");
  boost::system::error_code ec;
  auto pv = json::parse(verified->payload, ec);
  if (ec || !pv.is_object()) return fail("client assertion payload is not a JSON object");
  const json::object& c = pv.get_object();
  if (s(c, "iss") != client_id || s(c, "sub") != client_id)
    return fail("client assertion: iss and sub must be the client_id");
  bool aud_ok = false;
  auto aud_match = [&](std::string_view x) {
    for (const auto& want : rules.audiences)
      if (x == want) return true;
    return false;
  };
  if (auto* aud = c.if_contains("aud")) {
    if (aud->is_string()) aud_ok = aud_match(aud->get_string());
    if (aud->is_array())
      for (const auto& x : aud->get_array())
        if (x.is_string() && aud_match(x.get_string())) aud_ok = true;
  }
  if (!aud_ok) return fail("client assertion: aud must be the token endpoint or the issuer");
  // Dates as numeric_date reads them for tokens: integral, in [0, year
  // 9999], so the sums below cannot overflow (a huge or fractional value was
  // a double cast to an integer, and exp + skew signed overflow).
  auto exp_r = numeric_date(c, "exp");
  auto nbf_r = numeric_date(c, "nbf");
  auto iat_r = numeric_date(c, "iat");
  for (const auto* r : {&exp_r, &nbf_r, &iat_r})
    if (!*r) return fail("client assertion: " + r->error().reason);
  const std::optional<std::int64_t> exp = exp_r.value(), nbf = nbf_r.value(), iat = iat_r.value();
  if (!exp) return fail("client assertion: exp is required");
  if (*exp + rules.skew <= rules.now) return fail("client assertion has expired");
  if (*exp > rules.now + rules.max_lifetime + rules.skew)
    return fail("client assertion lives too long (exp more than " +
                std::to_string(rules.max_lifetime) + " s ahead)");
  if (nbf && *nbf > rules.now + rules.skew) return fail("client assertion is not valid yet");
  if (iat && *iat > rules.now + rules.skew)
    return fail("client assertion was issued in the future");
  std::string jti = s(c, "jti");
  if (jti.empty() || jti.size() > 256) return fail("client assertion: jti is required");
  if (replay) {
    auto fresh =
        replay->create(std::string(client_id) + "\n" + jti, json::object{}, *exp + rules.skew + 1);
    if (!fresh) return fail("client assertion: " + fresh.reason());
    if (!fresh.value()) return fail("client assertion was used before (jti replay)");
  }
  return ok_status();
}

}  // namespace bastion::auth
