// JWS against the official vectors (RFC 7515 A.1, the RFC 7520 cookbook) and
// the alg-confusion, none, crit and malformed-token cases.
#include "auth/jws.hpp"

#include <gtest/gtest.h>

#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using testing::load_jose_vector;
using testing::str;

TEST(Jws, Rfc7515A1Hs256) {
  json::value v = load_jose_vector("rfc7515_A1_hs256.json");
  auto key = Key::from_jwk(v.at("jwk").as_object());
  ASSERT_TRUE(key) << key.reason();
  auto r = jws_verify(str(v.at("compact")), key.value());
  ASSERT_TRUE(r) << r.reason();
  EXPECT_EQ(r->payload, str(v.at("payload_json")));
  std::string tampered = str(v.at("compact"));
  tampered[tampered.size() - 5] ^= 1;
  EXPECT_FALSE(jws_verify(tampered, key.value()));
}

// Cookbook §4: verify every signature whose algorithm we support; sign and
// compare bytes where the algorithm is deterministic (RS256, HS256, EdDSA).
TEST(Jws, Rfc7520Cookbook) {
  int verified = 0;
  auto check = [&](const json::object& key_json, std::string_view alg_name_sv,
                   const json::object& signing, const json::value& input_payload,
                   const json::object& output, bool reproducible, const std::string& title) {
    auto alg = alg_from_name(alg_name_sv);
    ASSERT_TRUE(alg) << title;
    auto key = Key::from_jwk(key_json, *alg);
    ASSERT_TRUE(key) << title << ": " << key.reason();
    std::string sig_input = str(signing.at("sig-input"));
    std::string sig = *b64url_decode(signing.at("sig").as_string());
    EXPECT_TRUE(key->verify(sig_input, sig)) << title;
    ++verified;
    if (reproducible) {
      auto again = key->sign(sig_input);
      ASSERT_TRUE(again);
      EXPECT_EQ(again.value(), sig) << title;
    }
    if (output.contains("compact")) {
      std::string compact = str(output.at("compact"));
      JwsVerifyOptions opt;
      std::string payload = str(input_payload);
      if (compact.find("..") != std::string::npos) opt.detached_payload = payload;
      auto r = jws_verify(compact, key.value(), opt);
      ASSERT_TRUE(r) << title << ": " << r.reason();
      EXPECT_EQ(r->payload, payload);
      if (reproducible && !opt.detached_payload) {
        json::object hdr = signing.at("protected").as_object();
        auto signed_compact = jws_sign(key.value(), payload, hdr);
        ASSERT_TRUE(signed_compact);
        EXPECT_EQ(signed_compact.value(), compact) << title;
      }
    }
  };
  for (std::string f : {"4_1.rsa_v15_signature", "4_2.rsa-pss_signature", "4_3.ecdsa_signature",
                        "4_4.hmac-sha2_integrity_protection", "4_5.signature_with_detached_content",
                        "4_6.protecting_specific_header_fields", "4_7.protecting_content_only"}) {
    json::value v = load_jose_vector("cookbook/jws/" + f + ".json");
    check(v.at("input").at("key").as_object(), v.at("input").at("alg").as_string(),
          v.at("signing").as_object(), v.at("input").at("payload"), v.at("output").as_object(),
          v.as_object().contains("reproducible") && v.at("reproducible") == true, f);
  }
  // 4.8: three signatures, one per key/alg.
  json::value multi = load_jose_vector("cookbook/jws/4_8.multiple_signatures.json");
  const auto& keys = multi.at("input").at("key").as_array();
  const auto& algs = multi.at("input").at("alg").as_array();
  const auto& signings = multi.at("signing").as_array();
  for (std::size_t i = 0; i < signings.size(); ++i)
    check(keys[i].as_object(), algs[i].as_string(), signings[i].as_object(),
          multi.at("input").at("payload"), json::object{}, false, "4_8 #" + std::to_string(i));
  // RFC 8037 A.4/A.5 (Ed25519).
  json::value ed = load_jose_vector("cookbook/curve25519/jws.json");
  check(ed.at("input").at("key").as_object(), ed.at("input").at("alg").as_string(),
        ed.at("signing").as_object(), ed.at("input").at("payload"), ed.at("output").as_object(),
        true, "rfc8037");
  EXPECT_EQ(verified, 11);
}

TEST(Jws, RejectsNoneCritOversizeAndMalformed) {
  Key key = Key::generate(Alg::kES256);
  auto good = jws_sign(key, R"({"sub":"x"})");
  ASSERT_TRUE(good);
  EXPECT_TRUE(jws_verify(good.value(), key));

  auto with_header = [&](const std::string& header_json) {
    std::string h = b64url_encode(header_json) + "." + b64url_encode("{}");
    auto sig = key.sign(h);
    return h + "." + b64url_encode(sig.value());
  };
  std::string none = b64url_encode(R"({"alg":"none"})") + "." + b64url_encode("{}") + ".";
  EXPECT_NE(jws_verify(none, key).reason().find("none"), std::string::npos);
  auto crit = jws_verify(with_header(R"({"alg":"ES256","crit":["exp"],"exp":1})"), key);
  EXPECT_NE(crit.reason().find("critical"), std::string::npos) << crit.reason();
  EXPECT_FALSE(jws_verify(with_header(R"({"alg":"ES256","crit":[]})"), key));
  EXPECT_FALSE(jws_verify(with_header(R"({"alg":"ES256","crit":["alg"]})"), key));
  EXPECT_FALSE(jws_verify(with_header(R"({"alg":"ES256","b64":false,"crit":["b64"]})"), key));
  EXPECT_FALSE(jws_verify(with_header(R"(["ES256"])"), key));
  EXPECT_FALSE(jws_verify(with_header(R"({"typ":"JWT"})"), key));
  EXPECT_TRUE(jws_verify(with_header(R"({"alg":"ES256","crit":["exp"],"exp":1})"), key,
                         JwsVerifyOptions{.understood_crit = {"exp"}}));

  std::string big = jws_sign(key, std::string(9000, 'a')).value();
  EXPECT_NE(jws_verify(big, key).reason().find("limit"), std::string::npos);
  for (std::string bad : {std::string(""), std::string("a.b"), std::string("a.b.c.d"),
                          std::string(".e30.sig"), good.value() + "=", good.value() + ".x"})
    EXPECT_FALSE(jws_verify(bad, key)) << bad;
  // Tampered payload and signature.
  std::string t = good.value();
  auto d = t.find('.');
  t[d + 2] = t[d + 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(jws_verify(t, key));
}

// The classic confusion attack: an HS256 token whose secret is the server's
// RSA public key (as PEM-ish bytes or JWK text). The verifier holds the RSA
// key pinned to RS256 and must not fall for it.
TEST(Jws, AlgConfusionHs256WithRsaPublicKey) {
  Key rsa = Key::generate(Alg::kRS256);
  std::string pub_text = json::serialize(rsa.public_jwk());
  auto forged_key = Key::from_secret(pub_text);
  ASSERT_TRUE(forged_key);
  auto forged = jws_sign(forged_key.value(), R"({"sub":"admin"})");
  ASSERT_TRUE(forged);
  auto r = jws_verify(forged.value(), rsa);
  ASSERT_FALSE(r);
  EXPECT_NE(r.reason().find("alg mismatch"), std::string::npos);
  // And an ES256 token against an EdDSA key.
  Key ed = Key::generate(Alg::kEdDSA);
  EXPECT_FALSE(jws_verify(jws_sign(Key::generate(Alg::kES256), "{}").value(), ed));
}

}  // namespace
}  // namespace bastion::auth
