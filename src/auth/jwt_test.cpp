#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using std::chrono::seconds;
using testing::FakeClock;

constexpr const char* kIss = "https://as.example";
constexpr const char* kAud = "https://as.example/mcp";

struct Fixture {
  FakeClock clock;
  Key key = Key::generate(Alg::kES256);
  std::set<std::string> revoked;

  AccessToken claims(std::int64_t lifetime = 300) const {
    AccessToken t;
    t.iss = kIss;
    t.sub = "mcp-client";
    t.aud = {kAud};
    t.client_id = "mcp-client";
    t.scopes = {"mcp.access"};
    t.iat = clock();
    t.exp = clock() + lifetime;
    t.jti = new_jti();
    return t;
  }
  TokenValidator validator(const Key& k) const {
    auto shared = std::make_shared<const Key>(k);
    return TokenValidator(
        ValidatorOptions{.audience = kAud, .clock_skew = seconds(60)},
        {TrustedIssuer{
            kIss,
            [shared](std::string_view kid) { return kid == shared->kid() ? shared : nullptr; }}},
        [this](std::string_view jti) { return revoked.count(std::string(jti)) > 0; }, clock);
  }
  // Signs arbitrary claims/header with `k` (for malformed tokens).
  std::string forge(const Key& k, json::object c, json::object h) const {
    return jws_sign(k, json::serialize(c), std::move(h)).value();
  }
};

TEST(Jwt, IssueAndValidateEveryAlgorithm) {
  Fixture f;
  for (Alg alg : {Alg::kES256, Alg::kRS256, Alg::kEdDSA, Alg::kHS256}) {
    Key k = Key::generate(alg);
    AccessToken c = f.claims();
    auto tok = issue_access_token(k, c);
    ASSERT_TRUE(tok);
    auto hdr = jws_peek_header(tok.value());
    EXPECT_EQ(hdr->at("typ").as_string(), "at+jwt");
    EXPECT_EQ(hdr->at("kid").as_string(), k.kid());
    auto v = f.validator(k).validate(tok.value());
    ASSERT_TRUE(v) << alg_name(alg) << ": " << v.reason();
    EXPECT_EQ(v->client_id, "mcp-client");
    EXPECT_EQ(v->scopes, std::vector<std::string>{"mcp.access"});
    EXPECT_EQ(v->jti, c.jti);
    EXPECT_EQ(v->jti.size(), 22u);  // 128 bits base64url
    auto p = v->principal();
    EXPECT_TRUE(p.authenticated);
    EXPECT_TRUE(p.has_scope("mcp.access"));
  }
}

TEST(Jwt, ExpiryAndSkew) {
  Fixture f;
  auto v = f.validator(f.key);
  std::string tok = issue_access_token(f.key, f.claims(300)).value();
  f.clock.advance(300 + 59);
  EXPECT_TRUE(v.validate(tok));  // within skew
  f.clock.advance(1);
  EXPECT_EQ(v.validate(tok).reason(), "token expired");
  // A token from the future and one with nbf later than skew allows.
  Fixture g;
  AccessToken c = g.claims();
  c.iat = g.clock() + 120;
  EXPECT_EQ(g.validator(g.key).validate(issue_access_token(g.key, c).value()).reason(),
            "token issued in the future");
  c = g.claims();
  c.nbf = g.clock() + 120;
  EXPECT_EQ(g.validator(g.key).validate(issue_access_token(g.key, c).value()).reason(),
            "token not yet valid");
}

TEST(Jwt, ExtremeTimesDoNotOverflow) {
  // fuzz/jwt: exp + clock_skew overflowed for an exp near INT64_MAX (UBSan),
  // and in practice wrapped to a past time. A signed exp that far away is
  // simply not expired; one at INT64_MIN is.
  Fixture f;
  auto v = f.validator(f.key);
  AccessToken c = f.claims();
  c.exp = std::numeric_limits<std::int64_t>::max();
  EXPECT_TRUE(v.validate(issue_access_token(f.key, c).value()));
  c.exp = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(v.validate(issue_access_token(f.key, c).value()).reason(), "token expired");
  c = f.claims();
  c.nbf = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(v.validate(issue_access_token(f.key, c).value()).reason(), "token not yet valid");
  c = f.claims();
  c.iat = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(v.validate(issue_access_token(f.key, c).value()).reason(),
            "token issued in the future");
  // Real NumericDates beyond int64 (fuzz/jwt: 1.7e121 converted with UB) are
  // refused as not numbers; ordinary real ones still count.
  json::object good{{"iss", kIss},      {"sub", "s"},       {"aud", kAud},
                    {"client_id", "s"}, {"iat", f.clock()}, {"exp", f.clock() + 60.5},
                    {"jti", "j"},       {"scope", "a"}};
  json::object hdr{{"typ", "at+jwt"}, {"kid", f.key.kid()}};
  EXPECT_TRUE(v.validate(f.forge(f.key, good, hdr)));
  json::object huge = good;
  huge["exp"] = 1.7e121;
  EXPECT_EQ(v.validate(f.forge(f.key, huge, hdr)).reason(), "token has no exp");
  huge = good;
  huge["nbf"] = -1e300;
  EXPECT_EQ(v.validate(f.forge(f.key, huge, hdr)).reason(), "nbf is not a number");
}

TEST(Jwks, KeysWithoutAUsableKidAreSkipped) {
  // fuzz/jwk: "kid": "" was kept, so a key set could publish a kid-less key.
  Key k = Key::generate(Alg::kES256);
  json::object pub = k.public_jwk();
  json::object empty = pub;
  empty["kid"] = "";
  json::object number = pub;
  number["kid"] = 7;
  auto keys = parse_jwks(json::object{{"keys", json::array{empty, number, pub}}});
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]->kid(), k.kid());
}

TEST(Jwt, RejectsWrongAudienceIssuerTypAndMissingClaims) {
  Fixture f;
  auto v = f.validator(f.key);
  AccessToken c = f.claims();
  c.aud = {"https://other.example/mcp"};
  EXPECT_EQ(v.validate(issue_access_token(f.key, c).value()).reason(), "wrong audience");
  c = f.claims();
  c.aud = {"https://other.example", kAud};
  EXPECT_TRUE(v.validate(issue_access_token(f.key, c).value()));
  c = f.claims();
  c.iss = "https://evil.example";
  EXPECT_EQ(v.validate(issue_access_token(f.key, c).value()).reason(), "wrong issuer");

  json::object good{{"iss", kIss},      {"sub", "s"},       {"aud", kAud},
                    {"client_id", "s"}, {"iat", f.clock()}, {"exp", f.clock() + 60},
                    {"jti", "j"},       {"scope", "a"}};
  json::object hdr{{"typ", "at+jwt"}, {"kid", f.key.kid()}};
  EXPECT_TRUE(v.validate(f.forge(f.key, good, hdr)));
  EXPECT_EQ(v.validate(f.forge(f.key, good, {{"typ", "JWT"}, {"kid", f.key.kid()}})).reason(),
            "typ is not at+jwt");
  EXPECT_EQ(v.validate(f.forge(f.key, good, {{"typ", "at+jwt"}})).reason(),
            "token header has no kid");
  EXPECT_EQ(v.validate(f.forge(f.key, good, {{"typ", "at+jwt"}, {"kid", "nope"}})).reason(),
            "unknown signing key");
  for (auto claim : {"exp", "iat", "sub", "client_id", "jti"}) {
    json::object c2 = good;
    c2.erase(claim);
    EXPECT_FALSE(v.validate(f.forge(f.key, c2, hdr))) << claim;
  }
  json::object str_exp = good;
  str_exp["exp"] = "tomorrow";
  EXPECT_EQ(v.validate(f.forge(f.key, str_exp, hdr)).reason(), "token has no exp");
}

TEST(Jwt, RevokedAndTamperedAndOversize) {
  Fixture f;
  auto v = f.validator(f.key);
  AccessToken c = f.claims();
  std::string tok = issue_access_token(f.key, c).value();
  EXPECT_TRUE(v.validate(tok));
  f.revoked.insert(c.jti);
  EXPECT_EQ(v.validate(tok).reason(), "token revoked");

  std::string t2 = issue_access_token(f.key, f.claims()).value();
  std::string tampered_sig = t2;
  tampered_sig.back() = tampered_sig.back() == 'A' ? 'Q' : 'A';
  EXPECT_FALSE(v.validate(tampered_sig));
  // Swap the payload for one with more scopes, keep the signature.
  AccessToken more = f.claims();
  more.scopes = {"mcp.access", "admin"};
  std::string other = issue_access_token(f.key, more).value();
  auto p1 = t2.find('.'), p2 = t2.rfind('.');
  auto q1 = other.find('.'), q2 = other.rfind('.');
  std::string spliced = t2.substr(0, p1) + other.substr(q1, q2 - q1) + t2.substr(p2);
  EXPECT_EQ(v.validate(spliced).reason(), "signature verification failed");

  AccessToken big = f.claims();
  big.scopes.assign(1, std::string(9000, 's'));
  EXPECT_EQ(v.validate(issue_access_token(f.key, big).value()).reason(), "token too large");
}

TEST(Jwt, AlgConfusionAgainstRsaKey) {
  Fixture f;
  Key rsa = Key::generate(Alg::kRS256);
  auto v = f.validator(rsa);
  // Attacker signs HS256 with the RSA public JWK text as the secret, kid = RSA kid.
  Key forged = Key::from_secret(json::serialize(rsa.public_jwk())).value().with_kid(rsa.kid());
  std::string tok = issue_access_token(forged, f.claims()).value();
  auto r = v.validate(tok);
  ASSERT_FALSE(r);
  EXPECT_NE(r.reason().find("alg mismatch"), std::string::npos) << r.reason();
  // alg none with the right kid.
  std::string none = b64url_encode(R"({"alg":"none","typ":"at+jwt","kid":")" + rsa.kid() + "\"}") +
                     "." + b64url_encode(R"({"iss":"x"})") + ".";
  EXPECT_NE(v.validate(none).reason().find("none"), std::string::npos);
}

TEST(ExternalJwks, FetchesOnUnknownKidWithRateLimit) {
  FakeClock clock;
  Key idp = Key::generate(Alg::kRS256);
  int fetches = 0;
  std::string body = json::serialize(json::object{{"keys", json::array{idp.public_jwk()}}});
  auto jwks = std::make_shared<ExternalJwks>(
      "http://127.0.0.1:1/jwks.json",
      [&](const std::string& url) -> Result<std::string> {
        EXPECT_EQ(url, "http://127.0.0.1:1/jwks.json");
        ++fetches;
        return body;
      },
      clock);
  TokenValidator v(ValidatorOptions{.audience = kAud},
                   {TrustedIssuer{"https://idp.example",
                                  [jwks](std::string_view kid) { return jwks->find(kid); },
                                  /*strict_rfc9068=*/false}},
                   {}, clock);
  json::object c{{"iss", "https://idp.example"},
                 {"sub", "user"},
                 {"aud", kAud},
                 {"azp", "app"},
                 {"exp", clock() + 60},
                 {"scp", json::array{"mcp:server:fs"}}};
  std::string tok = jws_sign(idp, json::serialize(c), {{"typ", "JWT"}, {"kid", idp.kid()}}).value();
  auto r = v.validate(tok);
  ASSERT_TRUE(r) << r.reason();
  EXPECT_EQ(r->client_id, "app");
  EXPECT_EQ(r->scopes, std::vector<std::string>{"mcp:server:fs"});
  EXPECT_EQ(fetches, 1);
  EXPECT_TRUE(v.validate(tok));
  EXPECT_EQ(fetches, 1);  // cached
  std::string unknown =
      jws_sign(idp.with_kid("other"), json::serialize(c), {{"kid", "other"}}).value();
  EXPECT_FALSE(v.validate(unknown));
  EXPECT_FALSE(v.validate(unknown));
  EXPECT_EQ(fetches, 1);  // refetch suppressed within min_refresh (last fetch was just now)
  clock.advance(61);
  EXPECT_FALSE(v.validate(unknown));
  EXPECT_EQ(fetches, 2);
  // Published symmetric keys are ignored.
  EXPECT_TRUE(parse_jwks(json::parse(R"({"keys":[{"kty":"oct","kid":"h","k":"AAAA"}]})")).empty());
}

}  // namespace
}  // namespace bastion::auth
