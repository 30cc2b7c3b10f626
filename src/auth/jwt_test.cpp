#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using std::chrono::seconds;
using testing::FakeClock;

using testing::kAud;
using testing::kIss;

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
    TrustedIssuer own{
        kIss, [shared](std::string_view kid) { return kid == shared->kid() ? shared : nullptr; }};
    own.own = true;
    return TokenValidator(
        ValidatorOptions{.audience = kAud, .clock_skew = seconds(60)}, {own},
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
  // fuzz/jwt: exp + clock_skew overflowed for an exp near INT64_MAX (UBSan).
  // Dates are NumericDates between 0 and the year 9999 (issue 11: all time
  // arithmetic checked): anything beyond is refused before any sum, so a
  // token that "never expires" is refused too, never wrapped.
  Fixture f;
  auto v = f.validator(f.key);
  AccessToken c = f.claims();
  c.exp = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(v.validate(issue_access_token(f.key, c).value()).reason(),
            "exp is not a valid NumericDate (after the year 9999)");
  c.exp = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(v.validate(issue_access_token(f.key, c).value()).reason(),
            "exp is not a valid NumericDate (negative)");
  c = f.claims();
  c.nbf = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(v.validate(issue_access_token(f.key, c).value()).reason(),
            "nbf is not a valid NumericDate (after the year 9999)");
  c = f.claims();
  c.iat = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(v.validate(issue_access_token(f.key, c).value()).reason(),
            "iat is not a valid NumericDate (after the year 9999)");
  // Real NumericDates beyond int64 (fuzz/jwt: 1.7e121 converted with UB) are
  // refused without a conversion. Fractional dates are refused too (our
  // tokens and every provider we know use whole seconds; RFC 7519 allows
  // them: a deliberate strictness).
  json::object good{{"iss", kIss},      {"sub", "s"},       {"aud", kAud},
                    {"client_id", "s"}, {"iat", f.clock()}, {"exp", f.clock() + 60},
                    {"jti", "j"},       {"scope", "a"}};
  json::object hdr{{"typ", "at+jwt"}, {"kid", f.key.kid()}};
  EXPECT_TRUE(v.validate(f.forge(f.key, good, hdr)));
  json::object huge = good;
  huge["exp"] = 1.7e121;
  EXPECT_EQ(v.validate(f.forge(f.key, huge, hdr)).reason(),
            "exp is not a valid NumericDate (out of range)");
  huge = good;
  huge["nbf"] = -1e300;
  EXPECT_FALSE(v.validate(f.forge(f.key, huge, hdr)));
  huge = good;
  huge["exp"] = f.clock() + 60.5;
  EXPECT_FALSE(v.validate(f.forge(f.key, huge, hdr)));
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
  EXPECT_EQ(v.validate(f.forge(f.key, str_exp, hdr)).reason(),
            "exp is not a valid NumericDate (not a number)");
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
                     "." + b64url_encode(R"({"iss":")" + std::string(kIss) + "\"}") + ".";
  EXPECT_NE(v.validate(none).reason().find("none"), std::string::npos);
}

// A compact JWS from raw header and payload text (so members can repeat).
std::string sign_raw(const Key& k, std::string_view header, std::string_view payload) {
  std::string input = b64url_encode(header) + "." + b64url_encode(payload);
  return input + "." + b64url_encode(k.sign(input).value());
}

// An external issuer is held to RFC 9068 like our own: typ at+jwt, iat, jti,
// client_id, sub (issue 11: they were accepted with typ JWT or none, and
// without iat, jti or client_id).
// Two issuers that publish the same kid (one JWKS for both, or a collision,
// or one doing it on purpose): each token is checked with its own issuer's
// keys. Choosing by kid alone let the first issuer shadow the second.
TEST(Jwt, IssuersSharingAKidDoNotShadowEachOther) {
  FakeClock clock;
  Key k1 = Key::generate(Alg::kES256);
  auto a_key = std::make_shared<const Key>(k1);
  auto b_key = std::make_shared<const Key>(Key::generate(Alg::kES256));
  // b publishes a's kid for its own key.
  TrustedIssuer a{"https://a.example", [a_key](std::string_view) { return a_key; }};
  TrustedIssuer b{"https://b.example", [b_key](std::string_view) { return b_key; }};
  TokenValidator v(ValidatorOptions{.audience = kAud}, {a, b}, {}, clock);
  json::object c{{"sub", "user"},  {"aud", kAud},         {"client_id", "app"},
                 {"iat", clock()}, {"exp", clock() + 60}, {"jti", "j1"}};
  json::object h{{"typ", "at+jwt"}, {"kid", k1.kid()}};
  c["iss"] = "https://a.example";
  EXPECT_TRUE(v.validate(jws_sign(k1, json::serialize(c), h).value()));
  c["iss"] = "https://b.example";
  auto r = v.validate(jws_sign(*b_key, json::serialize(c), h).value());
  EXPECT_TRUE(r) << r.reason();
  // a's key cannot sign for b, nor b's for a.
  EXPECT_FALSE(v.validate(jws_sign(k1, json::serialize(c), h).value()));
  c["iss"] = "https://nobody.example";
  EXPECT_EQ(v.validate(jws_sign(k1, json::serialize(c), h).value()).reason(), "wrong issuer");
}

TEST(Jwt, ExternalIssuersAreAsStrictAsOurOwn) {
  FakeClock clock;
  Key idp = Key::generate(Alg::kRS256);
  auto shared = std::make_shared<const Key>(idp);
  auto find = [shared](std::string_view kid) { return kid == shared->kid() ? shared : nullptr; };
  TrustedIssuer strict{"https://idp.example", find};
  TrustedIssuer lax{"https://idp.example", find};
  lax.require_typ = false;  // the documented opt-out: typ only
  TokenValidator vs(ValidatorOptions{.audience = kAud}, {strict}, {}, clock);
  TokenValidator vl(ValidatorOptions{.audience = kAud}, {lax}, {}, clock);
  json::object good{{"iss", "https://idp.example"},
                    {"sub", "user"},
                    {"aud", kAud},
                    {"client_id", "app"},
                    {"iat", clock()},
                    {"exp", clock() + 60},
                    {"jti", "j1"},
                    {"scope", "mcp:server:fs"}};
  auto tok = [&](json::object c, json::object h) {
    h["kid"] = idp.kid();
    return jws_sign(idp, json::serialize(c), std::move(h)).value();
  };
  auto r = vs.validate(tok(good, {{"typ", "at+jwt"}}));
  ASSERT_TRUE(r) << r.reason();
  EXPECT_EQ(r->client_id, "app");
  EXPECT_EQ(r->scopes, std::vector<std::string>{"mcp:server:fs"});
  EXPECT_TRUE(vs.validate(tok(good, {{"typ", "application/AT+JWT"}})));
  EXPECT_EQ(vs.validate(tok(good, {{"typ", "JWT"}})).reason(), "typ is not at+jwt");
  EXPECT_EQ(vs.validate(tok(good, {})).reason(), "typ is not at+jwt");
  // The opt-out accepts a missing typ or "JWT", never another type.
  EXPECT_TRUE(vl.validate(tok(good, {{"typ", "JWT"}})));
  EXPECT_TRUE(vl.validate(tok(good, {})));
  EXPECT_EQ(vl.validate(tok(good, {{"typ", "dpop+jwt"}})).reason(),
            "typ is neither at+jwt nor JWT");
  EXPECT_EQ(vl.validate(tok(good, {{"typ", 1}})).reason(), "typ is not a string");
  // Every claim stays required, with or without the opt-out; azp and scp
  // are no stand-ins for client_id and scope.
  for (const auto* v : {&vs, &vl}) {
    for (auto claim : {"iat", "exp", "jti", "client_id", "sub", "iss", "aud"}) {
      json::object c = good;
      c.erase(claim);
      EXPECT_FALSE(v->validate(tok(c, {{"typ", "at+jwt"}}))) << claim;
    }
    json::object azp = good;
    azp.erase("client_id");
    azp["azp"] = "app";
    EXPECT_EQ(v->validate(tok(azp, {{"typ", "at+jwt"}})).reason(), "token has no client_id");
    for (auto claim : {"jti", "client_id", "sub"}) {
      json::object c = good;
      c[claim] = "";
      EXPECT_FALSE(v->validate(tok(c, {{"typ", "at+jwt"}}))) << claim << " empty";
      c[claim] = 7;
      EXPECT_FALSE(v->validate(tok(c, {{"typ", "at+jwt"}}))) << claim << " a number";
    }
    json::object scp = good;
    scp.erase("scope");
    scp["scp"] = json::array{"mcp.access"};
    auto s = v->validate(tok(scp, {{"typ", "at+jwt"}}));
    ASSERT_TRUE(s) << s.reason();
    EXPECT_TRUE(s->scopes.empty());
    json::object bad_aud = good;
    bad_aud["aud"] = json::array{kAud, 5};
    EXPECT_EQ(v->validate(tok(bad_aud, {{"typ", "at+jwt"}})).reason(), "aud holds a non-string");
    json::object num_scope = good;
    num_scope["scope"] = 1;
    EXPECT_EQ(v->validate(tok(num_scope, {{"typ", "at+jwt"}})).reason(), "scope is not a string");
  }
}

// Duplicate members are an error, never "last one wins" (issue 11): a
// header naming two algs or kids, claims naming two subs or audiences.
TEST(Jwt, DuplicateMembersInHeaderOrClaimsAreRejected) {
  Fixture f;
  auto v = f.validator(f.key);
  std::string kid = f.key.kid();
  auto claims = [&](std::string extra) {
    return R"({"iss":")" + std::string(kIss) + R"(","sub":"mcp-client","aud":")" + kAud +
           R"(","client_id":"mcp-client","scope":"mcp.access","iat":)" + std::to_string(f.clock()) +
           R"(,"exp":)" + std::to_string(f.clock() + 60) + R"(,"jti":"j")" + extra + "}";
  };
  std::string header = R"({"alg":"ES256","typ":"at+jwt","kid":")" + kid + R"("})";
  auto ok = v.validate(sign_raw(f.key, header, claims("")));
  ASSERT_TRUE(ok) << ok.reason();
  struct Case {
    std::string name, header, claims;
  } cases[] = {
      {"two kids", R"({"alg":"ES256","typ":"at+jwt","kid":"other","kid":")" + kid + R"("})",
       claims("")},
      {"two algs", R"({"alg":"none","alg":"ES256","typ":"at+jwt","kid":")" + kid + R"("})",
       claims("")},
      {"two typs", R"({"alg":"ES256","typ":"JWT","typ":"at+jwt","kid":")" + kid + R"("})",
       claims("")},
      {"two subs", header, claims(R"(,"sub":"admin")")},
      {"two auds", header, claims(R"(,"aud":"https://other.example")")},
      {"two scopes", header, claims(R"(,"scope":"admin")")},
      {"two exps", header, claims(R"(,"exp":99999999999)")},
      {"nested duplicate", header, claims(R"(,"cnf":{"jkt":"a","jkt":"b"})")},
  };
  for (const auto& c : cases) {
    auto r = v.validate(sign_raw(f.key, c.header, c.claims));
    ASSERT_FALSE(r) << c.name;
    EXPECT_NE(r.reason().find("duplicate"), std::string::npos) << c.name << ": " << r.reason();
  }
  // jws_peek_header (used to pick the key) refuses them too.
  EXPECT_FALSE(jws_peek_header(sign_raw(f.key, cases[0].header, claims(""))));
}

// Time claims: only whole seconds in [0, year 9999]; everything else is
// refused with a reason, and no sum overflows (the old code cast 1e300 to
// int64 and added the skew to INT64_MAX).
TEST(Jwt, TimeClaimsAreCheckedNumericDates) {
  Fixture f;
  auto v = f.validator(f.key);
  std::string kid = f.key.kid();
  std::string header = R"({"alg":"ES256","typ":"at+jwt","kid":")" + kid + R"("})";
  const std::string now = std::to_string(f.clock());
  const std::string later = std::to_string(f.clock() + 60);
  auto token = [&](std::string iat, std::string exp, std::string nbf = "") {
    std::string c = R"({"iss":")" + std::string(kIss) + R"(","sub":"s","aud":")" + kAud +
                    R"(","client_id":"s","jti":"j","iat":)" + iat + R"(,"exp":)" + exp;
    if (!nbf.empty()) c += R"(,"nbf":)" + nbf;
    return sign_raw(f.key, header, c + "}");
  };
  struct Case {
    std::string name, iat, exp, nbf;
    bool ok;
  } cases[] = {
      {"plain", now, later, "", true},
      {"exp as an integral double", now, later + ".0", "", true},
      {"exp with an exponent", now, "1.7000001e9", "", true},  // a whole second
      {"exp 1e400", now, "1e400", "", false},
      {"exp fraction", now, later + ".5", "", false},
      {"exp negative", now, "-1", "", false},
      {"exp INT64_MAX", now, "9223372036854775807", "", false},
      {"exp UINT64_MAX", now, "18446744073709551615", "", false},
      {"exp 1e300", now, "1e300", "", false},
      {"exp -1e300", now, "-1e300", "", false},
      {"exp year 10000", now, "253402300800", "", false},
      {"exp year 9999", now, "253402300799", "", true},
      {"exp a string", now, "\"" + later + "\"", "", false},
      {"exp null", now, "null", "", false},
      {"exp true", now, "true", "", false},
      {"iat INT64_MAX", "9223372036854775807", later, "", false},
      {"iat 1e19", "1e19", later, "", false},
      {"iat negative", "-5", later, "", false},
      {"iat after exp", later, now, "", false},
      {"nbf INT64_MIN", now, later, "-9223372036854775808", false},
      {"nbf huge", now, later, "1e308", false},
      {"nbf fraction", now, later, "0.5", false},
      {"nbf past", now, later, now, true},
  };
  for (const auto& c : cases) {
    auto r = v.validate(token(c.iat, c.exp, c.nbf));
    EXPECT_EQ(bool(r), c.ok) << c.name << ": " << (r ? "accepted" : r.reason());
  }
  EXPECT_EQ(v.validate(token(now, "1e300")).reason(),
            "exp is not a valid NumericDate (out of range)");
  EXPECT_EQ(v.validate(token(now, later + ".5")).reason(),
            "exp is not a valid NumericDate (not a whole number of seconds)");
}

TEST(Jwt, NumericDateDirectly) {
  auto nd = [](std::string_view text) {
    auto o = json::parse(std::string(R"({"t":)") + std::string(text) + "}").as_object();
    auto r = numeric_date(o, "t");
    return r ? (r.value() ? std::to_string(*r.value()) : "absent") : "error";
  };
  EXPECT_EQ(nd("0"), "0");
  EXPECT_EQ(nd("1700000000"), "1700000000");
  EXPECT_EQ(nd("1700000000.0"), "1700000000");
  EXPECT_EQ(nd("253402300799"), "253402300799");
  EXPECT_EQ(nd("253402300800"), "error");
  EXPECT_EQ(nd("-0.0"), "0");
  EXPECT_EQ(nd("\"1\""), "error");
  EXPECT_EQ(numeric_date(json::object{}, "t").value(), std::nullopt);
}

}  // namespace
}  // namespace bastion::auth
