// JWK against the official vectors: RFC 8037, Wycheproof (ECDSA P-256 P1363,
// Ed25519, HMAC-SHA256) on each key's signature primitive, RFC 7638
// thumbprints (cross-checked with panva/jose). JWS vectors: jws_test.cpp.
//
// Wycheproof verdicts: "valid" must verify and "invalid" must not. "acceptable"
// (none occur in the shipped files, but the harness handles them) means the
// primitive may go either way; we only require that it does not crash and
// record which way it went.
#include "auth/jwk.hpp"

#include <gtest/gtest.h>

#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using testing::load_jose_vector;
using testing::str;
using testing::unhex;

TEST(Base64Url, RoundTripAndStrictness) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                std::string("\xff\xfe\x00", 3)})
    EXPECT_EQ(b64url_decode(b64url_encode(s)), s);
  EXPECT_EQ(b64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(b64url_decode("Zm9v="));   // padding
  EXPECT_FALSE(b64url_decode("Zm9v+g"));  // standard alphabet
  EXPECT_FALSE(b64url_decode("Zm9 v"));   // whitespace
  EXPECT_FALSE(b64url_decode("Z"));       // impossible length
  EXPECT_FALSE(b64url_decode("Zh"));      // non-zero trailing bits ("Zg" is canonical)
  EXPECT_TRUE(b64url_decode("Zg"));
}

TEST(Jwk, ThumbprintsMatchRfc8037AndPanvaJose) {
  struct Case {
    std::string file;
    std::string thumbprint;
  } cases[] = {
      {"cookbook/jwk/3_1.ec_public_key.json", ""},  // P-521: thumbprint via ES512 key below
      {"cookbook/jwk/3_3.rsa_public_key.json", "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"},
      {"cookbook/jwk/3_5.symmetric_key_mac_computation.json",
       "RtoRur_1Dir5M4wuOfqNkDYOf9O_4RJ-aHkTA75RLA8"},
  };
  auto ec = Key::from_jwk(load_jose_vector(cases[0].file).as_object());
  ASSERT_TRUE(ec) << ec.reason();
  EXPECT_EQ(ec->thumbprint(), "dHri3SADZkrush5HU_50AoRhcKFryN-PI6jPBtPL55M");
  EXPECT_EQ(ec->alg(), Alg::kES512);
  auto rsa = Key::from_jwk(load_jose_vector(cases[1].file).as_object(), Alg::kRS256);
  ASSERT_TRUE(rsa) << rsa.reason();
  EXPECT_EQ(rsa->thumbprint(), cases[1].thumbprint);
  EXPECT_EQ(rsa->kid(), "bilbo.baggins@hobbiton.example");  // explicit kid kept
  auto oct = Key::from_jwk(load_jose_vector(cases[2].file).as_object());
  ASSERT_TRUE(oct) << oct.reason();
  EXPECT_EQ(oct->thumbprint(), cases[2].thumbprint);
  // RFC 8037 Appendix A.3.
  auto ed = Key::from_jwk(
      load_jose_vector("cookbook/curve25519/jws.json").at("input").at("key").as_object());
  ASSERT_TRUE(ed) << ed.reason();
  EXPECT_EQ(ed->thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  EXPECT_EQ(ed->kid(), ed->thumbprint());  // no kid in the JWK -> thumbprint
}

TEST(Jwk, PrivateRoundTripAndPublicHasNoSecrets) {
  for (Alg alg : {Alg::kES256, Alg::kRS256, Alg::kEdDSA}) {
    Key k = Key::generate(alg);
    auto back = Key::from_jwk(k.private_jwk());
    ASSERT_TRUE(back) << back.reason();
    EXPECT_TRUE(back->has_private());
    EXPECT_EQ(back->thumbprint(), k.thumbprint());
    json::object pub = k.public_jwk();
    for (auto m : {"d", "p", "q", "dp", "dq", "qi", "k"}) EXPECT_FALSE(pub.contains(m)) << m;
    auto pk = Key::from_jwk(pub);
    ASSERT_TRUE(pk);
    EXPECT_FALSE(pk->has_private());
    auto sig = back->sign("hello");
    ASSERT_TRUE(sig);
    EXPECT_TRUE(pk->verify("hello", sig.value()));
    EXPECT_FALSE(pk->verify("hellp", sig.value()));
  }
  EXPECT_TRUE(Key::generate(Alg::kHS256).public_jwk().empty());
}

// Fuzz finding (jwk, regress-empty-kid-oct): `"kid": ""` was kept, so the
// key had a kid no token header can name. It defaults to the thumbprint.
TEST(Jwk, AnEmptyKidDefaultsToTheThumbprint) {
  for (Alg alg : {Alg::kHS256, Alg::kES256}) {
    json::object jwk = alg == Alg::kHS256 ? Key::generate(alg).private_jwk()
                                          : Key::generate(alg).public_jwk();
    jwk["kid"] = "";
    auto k = Key::from_jwk(jwk);
    ASSERT_TRUE(k) << k.reason();
    EXPECT_EQ(k->kid(), k->thumbprint());
    jwk["kid"] = "named";
    EXPECT_EQ(Key::from_jwk(jwk)->kid(), "named");
  }
}

TEST(Jwk, RejectsBadKeys) {
  json::object ec = load_jose_vector("cookbook/jwk/3_1.ec_public_key.json").as_object();
  auto wrong_alg = Key::from_jwk(ec, Alg::kES256);  // P-521 key pinned to ES256
  EXPECT_FALSE(wrong_alg);
  json::object off_curve = Key::generate(Alg::kES256).public_jwk();
  std::string y = *b64url_decode(off_curve["y"].as_string());
  y[31] ^= 1;
  off_curve["y"] = b64url_encode(y);
  EXPECT_FALSE(Key::from_jwk(off_curve));
  EXPECT_FALSE(Key::from_jwk(json::object{{"kty", "oct"}, {"k", b64url_encode("short")}}));
  EXPECT_FALSE(Key::from_jwk(json::object{{"kty", "XYZ"}}));
  // RSA moduli above kMaxRsaBits are refused before OpenSSL's primality
  // check runs (a client's JWKS could otherwise cost seconds per key);
  // leading zero bytes do not count against the bound.
  json::object big = load_jose_vector("cookbook/jwk/3_3.rsa_public_key.json").as_object();
  std::string n = *b64url_decode(big["n"].as_string());
  ASSERT_EQ(n.size(), 256u);
  big["n"] = b64url_encode(n + n + n.substr(0, 8));  // 4,160 bits
  auto refused = Key::from_jwk(big, Alg::kRS256);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.reason().find("at most 4096 bits"), std::string::npos);
  big["n"] = b64url_encode(std::string(3, '\0') + n + n);  // 4,096 bits, padded
  auto at_bound = Key::from_jwk(big, Alg::kRS256);
  EXPECT_TRUE(at_bound || at_bound.reason().find("at most") == std::string::npos);
  big["n"] = b64url_encode(std::string(3, '\0') + n);  // the vector's own key, padded
  EXPECT_TRUE(Key::from_jwk(big, Alg::kRS256));
  EXPECT_THROW(Key::generate(Alg::kRS256, 4104), std::invalid_argument);
  // RSA without an alg is refused rather than guessed.
  EXPECT_FALSE(Key::from_jwk(load_jose_vector("cookbook/jwk/3_3.rsa_public_key.json").as_object()));
}

TEST(Wycheproof, EcdsaP256Sha256P1363) {
  json::value v = load_jose_vector("wycheproof/ecdsa_secp256r1_sha256_p1363_test.json");
  int count = 0;
  for (const auto& g : v.at("testGroups").as_array()) {
    // A few groups (edge-case public keys) carry no JWK: build it from wx/wy.
    auto coord = [&](std::string_view name) {
      std::string b = unhex(g.at("publicKey").at(name).as_string());
      while (b.size() > 32 && b[0] == 0) b.erase(0, 1);
      return b64url_encode(std::string(32 - b.size(), '\0') + b);
    };
    json::object jwk{{"kty", "EC"}, {"crv", "P-256"}, {"x", coord("wx")}, {"y", coord("wy")}};
    auto key = Key::from_jwk(jwk, Alg::kES256);
    ASSERT_TRUE(key) << key.reason();
    for (const auto& t : g.at("tests").as_array()) {
      std::string verdict = str(t.at("result"));
      bool ok = key->verify(unhex(t.at("msg").as_string()), unhex(t.at("sig").as_string()));
      if (verdict != "acceptable") {
        EXPECT_EQ(ok, verdict == "valid") << "tcId " << t.at("tcId") << " " << t.at("comment");
      }
      ++count;
    }
  }
  EXPECT_EQ(count, v.at("numberOfTests").to_number<int>());
}

TEST(Wycheproof, Ed25519) {
  json::value v = load_jose_vector("wycheproof/ed25519_test.json");
  int count = 0;
  for (const auto& g : v.at("testGroups").as_array()) {
    auto key = Key::from_jwk(g.at("publicKeyJwk").as_object(), Alg::kEdDSA);
    ASSERT_TRUE(key) << key.reason();
    for (const auto& t : g.at("tests").as_array()) {
      std::string verdict = str(t.at("result"));
      bool ok = key->verify(unhex(t.at("msg").as_string()), unhex(t.at("sig").as_string()));
      if (verdict != "acceptable") {
        EXPECT_EQ(ok, verdict == "valid") << "tcId " << t.at("tcId") << " " << t.at("comment");
      }
      ++count;
    }
  }
  EXPECT_EQ(count, v.at("numberOfTests").to_number<int>());
}

// HS256 in JWS uses the full 256-bit tag and keys >= 256 bits. Groups with a
// 128-bit tag or a 128-bit key are outside JWS: those verdicts are checked on
// the HMAC primitive (truncated constant-time compare), and we additionally
// require that the JWS-level verifier refuses every such tag/key.
TEST(Wycheproof, HmacSha256) {
  json::value v = load_jose_vector("wycheproof/hmac_sha256_test.json");
  int count = 0;
  for (const auto& g : v.at("testGroups").as_array()) {
    int key_bits = g.at("keySize").to_number<int>();
    std::size_t tag_bytes = g.at("tagSize").to_number<std::size_t>() / 8;
    for (const auto& t : g.at("tests").as_array()) {
      std::string verdict = str(t.at("result"));
      std::string key = unhex(t.at("key").as_string());
      std::string msg = unhex(t.at("msg").as_string());
      std::string tag = unhex(t.at("tag").as_string());
      std::string mac = hmac_sha256(key, msg);
      bool primitive_ok = tag.size() == tag_bytes && mac.compare(0, tag_bytes, tag) == 0;
      if (verdict != "acceptable") {
        EXPECT_EQ(primitive_ok, verdict == "valid") << "tcId " << t.at("tcId");
      }
      auto jws_key = Key::from_secret(key);
      if (key_bits >= 256 && tag_bytes == 32) {
        ASSERT_TRUE(jws_key);
        if (verdict != "acceptable") {
          EXPECT_EQ(jws_key->verify(msg, tag), verdict == "valid") << "tcId " << t.at("tcId");
        }
      } else if (jws_key) {
        EXPECT_FALSE(jws_key->verify(msg, tag)) << "truncated tag accepted, tcId " << t.at("tcId");
      } else {
        EXPECT_LT(key_bits, 256);
      }
      ++count;
    }
  }
  EXPECT_EQ(count, v.at("numberOfTests").to_number<int>());
}

}  // namespace
}  // namespace bastion::auth
