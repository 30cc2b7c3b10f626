// JWS and JWT access tokens as the resource side validates them
// (auth::TokenValidator, jws_verify, jws_peek_header): bearer tokens from
// any client. The first byte picks the mode:
//   even: the rest is a compact token, validated and verified with every key;
//   odd: the next byte picks a key (ES256, HS256, EdDSA), then come a
//      protected header (JSON, one line; anything else: typ at+jwt and the
//      key's kid) and the claims, signed here with that key, so the fuzzer
//      reaches what a forged token never does: the checks after a valid
//      signature.
// Promises checked: a token that validates was signed by the key its kid
// names, names the trusted issuer of that key, carries the audience, has not
// expired (exp, nbf, iat within the skew) and is not revoked; a token signed
// with one key never verifies with another.
#include "auth/jwt.hpp"

#include <memory>

#include "fuzz_util.hpp"
#include "protocol/jsonrpc.hpp"

namespace {

using namespace bastion;
using namespace bastion::auth;
namespace json = boost::json;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr const char* kIssuer = "https://bastion.test";
constexpr const char* kIdp = "https://idp.test";
constexpr const char* kAudience = "https://bastion.test/mcp";

std::shared_ptr<const Key> jwk(const char* text) {
  return std::make_shared<const Key>(Key::from_jwk(json::parse(text).as_object()).value());
}

struct Keys {
  // Our own issuer signs with ES256 (and HS256, for symmetric setups); an
  // external IdP with EdDSA (the RFC 8037 key).
  std::shared_ptr<const Key> es = jwk(
      R"({"kty":"EC","crv":"P-256","alg":"ES256","kid":"fuzz-es256",
          "x":"_ktexKT0I7tWM0AqiFnIehu5ZLMmqAgATcfbM48Tn34",
          "y":"3sGRWZ88eOSI5-4zEmKKKvAJp5hxqatqqCyOaFxE0SY",
          "d":"1RMbP6eUXiEBiwxcS5wAXIvecP4ZjmRpp5-Zm9Zxyt4"})");
  std::shared_ptr<const Key> hs = jwk(
      R"({"kty":"oct","alg":"HS256","kid":"fuzz-hs256",
          "k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"})");
  std::shared_ptr<const Key> ed = jwk(
      R"({"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":"fuzz-ed25519",
          "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
          "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"})");
  std::vector<std::shared_ptr<const Key>> all() const { return {es, hs, ed}; }
};

const Keys& keys() {
  static const Keys k;
  return k;
}

const TokenValidator& validator() {
  static const TokenValidator v(
      ValidatorOptions{kAudience},
      {TrustedIssuer{kIssuer,
                     [](std::string_view kid) -> std::shared_ptr<const Key> {
                       if (kid == keys().es->kid()) return keys().es;
                       if (kid == keys().hs->kid()) return keys().hs;
                       return nullptr;
                     },
                     true},
       TrustedIssuer{kIdp,
                     [](std::string_view kid) -> std::shared_ptr<const Key> {
                       return kid == keys().ed->kid() ? keys().ed : nullptr;
                     },
                     false}},
      [](std::string_view jti) { return jti == "revoked"; }, [] { return kNow; });
  return v;
}

void check_valid(std::string_view token, const AccessToken& t) {
  auto header = jws_peek_header(token);
  FUZZ_CHECK(header.ok());
  const auto* kid = header.value().if_contains("kid");
  FUZZ_CHECK(kid && kid->is_string());
  std::shared_ptr<const Key> signer;
  for (const auto& k : keys().all())
    if (k->kid() == kid->get_string()) signer = k;
  FUZZ_CHECK(signer);
  FUZZ_CHECK(t.iss == (signer == keys().ed ? kIdp : kIssuer));
  FUZZ_CHECK(std::find(t.aud.begin(), t.aud.end(), kAudience) != t.aud.end());
  FUZZ_CHECK(kNow - 60 < t.exp);
  FUZZ_CHECK(!t.nbf || *t.nbf <= kNow + 60);
  FUZZ_CHECK(t.iat <= kNow + 60);
  FUZZ_CHECK(t.jti != "revoked");
  for (const auto& k : keys().all()) FUZZ_CHECK(jws_verify(token, *k).ok() == (k == signer));
}

void check_token(std::string_view token) {
  auto r = validator().validate(token);
  if (r) check_valid(token, r.value());
  jws_peek_header(token);
  for (const auto& k : keys().all()) {
    auto v = jws_verify(token, *k);
    if (v) FUZZ_CHECK(jws_verify(token, *k, {.understood_crit = {"exp"}}).ok());
    jws_verify(token, *k, {.detached_payload = "payload"});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  if (in.u8() % 2 == 0) {
    check_token(in.rest());
    return 0;
  }
  const Key& key = *keys().all()[in.u8() % 3];
  std::string_view header_text = in.line();
  std::string claims(in.rest());
  json::object header{{"typ", "at+jwt"}, {"kid", key.kid()}};
  // Read as Bastion reads JSON (no 1e400 that would serialize as Infinity).
  auto h = protocol::parse_json(header_text);
  if (h.ok() && h.value().is_object()) header = h.value().as_object();
  auto token = jws_sign(key, claims, header);
  if (!token) return 0;  // e.g. the header names another alg
  auto v = jws_verify(token.value(), key);
  // A "crit" header the verifier was not told it understands must fail
  // (RFC 7515 §4.1.11), and so may a "b64" (RFC 7797) it refuses, e.g. not a
  // boolean: jws_sign signs the header it is given (Bastion's own, in use).
  // Anything else signed here verifies to its payload.
  FUZZ_CHECK(v || header.contains("crit") || header.contains("b64"));
  if (v) FUZZ_CHECK(v.value().payload == claims);
  check_token(token.value());
  return 0;
}
