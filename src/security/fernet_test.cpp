#include "security/fernet.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <ctime>
#include <fstream>
#include <limits>
#include <sstream>

#include "protocol/base64.hpp"

namespace bastion::security {

using protocol::base64url_decode;
using protocol::base64url_encode;
namespace {

namespace json = boost::json;

json::array load_vectors(const std::string& name) {
  std::ifstream in(std::string(BASTION_VECTORS_DIR) + "/fernet/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str()).as_array();
}

// "1985-10-26T01:20:01-07:00" -> Unix seconds.
std::int64_t parse_rfc3339(std::string_view s) {
  std::tm tm{};
  int oh = 0, om = 0;
  char sign = '+';
  std::string str(s);
  int n = std::sscanf(str.c_str(), "%d-%d-%dT%d:%d:%d%c%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &sign, &oh, &om);
  EXPECT_EQ(n, 9) << s;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::int64_t t = timegm(&tm);
  std::int64_t off = (oh * 3600 + om * 60) * (sign == '-' ? -1 : 1);
  return t - off;
}

TEST(Fernet, SpecGenerateVectors) {
  for (const auto& v : load_vectors("generate.json")) {
    const auto& o = v.as_object();
    auto f = Fernet::from_key(std::string(o.at("secret").as_string()));
    ASSERT_TRUE(f) << f.reason();
    FernetIv iv{};
    const auto& a = o.at("iv").as_array();
    for (std::size_t i = 0; i < 16; ++i) iv[i] = static_cast<unsigned char>(a[i].as_int64());
    auto tok = f.value().encrypt_at_time(std::string(o.at("src").as_string()),
                                         parse_rfc3339(o.at("now").as_string()), iv);
    EXPECT_EQ(tok, o.at("token").as_string());
  }
}

TEST(Fernet, SpecVerifyVectors) {
  for (const auto& v : load_vectors("verify.json")) {
    const auto& o = v.as_object();
    auto f = Fernet::from_key(std::string(o.at("secret").as_string()));
    ASSERT_TRUE(f);
    auto pt = f.value().decrypt(std::string(o.at("token").as_string()),
                                std::chrono::seconds(o.at("ttl_sec").as_int64()),
                                parse_rfc3339(o.at("now").as_string()));
    ASSERT_TRUE(pt) << pt.reason();
    EXPECT_EQ(pt.value(), o.at("src").as_string());
  }
}

TEST(Fernet, SpecInvalidVectors) {
  auto vectors = load_vectors("invalid.json");
  ASSERT_GE(vectors.size(), 5u);
  for (const auto& v : vectors) {
    const auto& o = v.as_object();
    auto f = Fernet::from_key(std::string(o.at("secret").as_string()));
    ASSERT_TRUE(f);
    auto pt = f.value().decrypt(std::string(o.at("token").as_string()),
                                std::chrono::seconds(o.at("ttl_sec").as_int64()),
                                parse_rfc3339(o.at("now").as_string()));
    EXPECT_FALSE(pt) << o.at("desc").as_string();
  }
}

TEST(Fernet, ErrorCodesTellWhatWentWrong) {
  auto k = Fernet::from_key(Fernet::generate_key()).value();
  auto other = Fernet::from_key(Fernet::generate_key()).value();
  auto tok = k.encrypt_at_time("secret", 1000);
  EXPECT_EQ(k.decrypt(tok, std::chrono::seconds(10), 2000).code(), CryptoError::Code::kExpired);
  EXPECT_EQ(k.decrypt(tok, std::chrono::seconds(10), 900).code(), CryptoError::Code::kFutureToken);
  EXPECT_TRUE(k.decrypt(tok, std::chrono::seconds(10), 1005));
  EXPECT_TRUE(k.decrypt(tok));  // no ttl: age does not matter
  EXPECT_EQ(other.decrypt(tok).code(), CryptoError::Code::kBadSignature);
  // An altered byte anywhere fails the signature, never decrypts.
  auto raw = *base64url_decode(tok);
  for (std::size_t i = 1; i < raw.size(); i += 7) {
    auto t = raw;
    t[i] ^= 1;
    EXPECT_EQ(k.decrypt(base64url_encode(t)).code(), CryptoError::Code::kBadSignature) << i;
  }
  EXPECT_EQ(k.decrypt("not a token").code(), CryptoError::Code::kInvalidToken);
  EXPECT_EQ(k.decrypt("").code(), CryptoError::Code::kInvalidToken);
  EXPECT_EQ(k.extract_timestamp(tok).value(), 1000);
}

TEST(Fernet, ExtremeTtlsAndStampsDoNotOverflow) {
  // fuzz/fernet: stamp + ttl overflowed for a ttl of seconds::max() (UBSan),
  // and in practice wrapped to "expired".
  auto k = Fernet::from_key(Fernet::generate_key()).value();
  auto forever = std::chrono::seconds::max();
  EXPECT_TRUE(k.decrypt(k.encrypt_at_time("x", 1000), forever, 2000));
  auto late = k.encrypt_at_time("x", std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(k.decrypt(late, forever, 2000).code(), CryptoError::Code::kFutureToken);
  // Stamped and read at the last second int64 holds: fresh.
  EXPECT_TRUE(k.decrypt(late, std::chrono::seconds(10), std::numeric_limits<std::int64_t>::max()));
}

TEST(Fernet, KeysAreStrict) {
  EXPECT_EQ(Fernet::from_key("short").code(), CryptoError::Code::kBadKey);
  EXPECT_EQ(Fernet::from_key(base64url_encode(std::string(31, 'x'))).code(),
            CryptoError::Code::kBadKey);
  EXPECT_TRUE(Fernet::from_key(base64url_encode(std::string(32, 'x')) + "\n"));
  auto a = Fernet::from_key(Fernet::generate_key()).value();
  auto b = Fernet::from_key(Fernet::generate_key()).value();
  EXPECT_NE(a.key_id(), b.key_id());
  EXPECT_EQ(a.key_id().size(), 15u);
}

TEST(Fernet, RoundTripsAnyBytes) {
  auto k = Fernet::from_key(Fernet::generate_key()).value();
  for (std::size_t n : {0, 1, 15, 16, 17, 1000}) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 31);
    auto t = k.encrypt(s);
    EXPECT_EQ(k.decrypt(t).value(), s);
  }
  EXPECT_NE(k.encrypt("x"), k.encrypt("x"));  // random IVs
}

TEST(MultiFernet, EncryptsWithNewestDecryptsWithAnyRotatesKeepingTimestamp) {
  auto old_key = Fernet::from_key(Fernet::generate_key()).value();
  auto new_key = Fernet::from_key(Fernet::generate_key()).value();
  auto old_tok = old_key.encrypt_at_time("payload", 12345);
  MultiFernet ring({new_key, old_key});
  EXPECT_EQ(ring.decrypt(old_tok).value(), "payload");
  auto fresh = ring.encrypt("x");
  EXPECT_TRUE(new_key.decrypt(fresh));
  EXPECT_FALSE(old_key.decrypt(fresh));
  auto rotated = ring.rotate(old_tok);
  ASSERT_TRUE(rotated);
  EXPECT_EQ(new_key.decrypt(rotated.value()).value(), "payload");
  EXPECT_EQ(new_key.extract_timestamp(rotated.value()).value(), 12345);
  // Expired under every key: reported as expired, not as a bad signature.
  EXPECT_EQ(ring.decrypt(old_tok, std::chrono::seconds(1), 20000).code(),
            CryptoError::Code::kExpired);
  auto stranger = Fernet::from_key(Fernet::generate_key()).value();
  EXPECT_EQ(ring.rotate(stranger.encrypt("x")).code(), CryptoError::Code::kBadSignature);
  EXPECT_THROW(MultiFernet({}), std::invalid_argument);
}

}  // namespace
}  // namespace bastion::security
