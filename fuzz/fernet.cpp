// Fernet tokens (security::Fernet, MultiFernet): what the secrets store, the
// PII `encrypt` policy and the test_encryption tool decrypt. The first byte
// picks the mode:
//   0: the rest is a token, decrypted with and without a TTL (TTL and "now"
//      from the input, as the tool takes ttl_seconds from a client);
//   1: the rest is a token's body (version, timestamp, IV, ciphertext),
//      signed here with the known key, so the fuzzer reaches what comes
//      after the HMAC: padding, block sizes, timestamps;
//   2: the rest is a key (Fernet::from_key) and a plaintext.
// Promises checked: decryption and extract_timestamp agree; a TTL only ever
// refuses; MultiFernet finds the key that made a token and rotate() keeps
// its plaintext and timestamp; encrypt then decrypt gives the plaintext back.
#include "security/fernet.hpp"

#include <openssl/hmac.h>

#include "fuzz_util.hpp"
#include "protocol/base64.hpp"

namespace {

using namespace bastion;
using security::Fernet;
using security::MultiFernet;

// The spec's test key, and a second one for the keyring.
constexpr std::string_view kKey = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
constexpr std::string_view kOther = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

const Fernet& key() {
  static const Fernet k = Fernet::from_key(kKey).value();
  return k;
}
const MultiFernet& ring() {
  static const MultiFernet r({Fernet::from_key(kOther).value(), key()});
  return r;
}

void check_token(std::string_view token, std::int64_t ttl, std::int64_t now) {
  auto plain = key().decrypt(token);
  auto stamp = key().extract_timestamp(token);
  FUZZ_CHECK(plain.ok() == stamp.ok());
  auto timed = key().decrypt(token, std::chrono::seconds(ttl), now);
  if (timed) FUZZ_CHECK(plain && timed.value() == plain.value());
  auto from_ring = ring().decrypt(token);
  FUZZ_CHECK(from_ring.ok() == plain.ok());
  if (!plain) return;
  FUZZ_CHECK(from_ring.value() == plain.value());
  auto rotated = ring().rotate(token);
  FUZZ_CHECK(rotated.ok());
  auto back = ring().primary().decrypt(rotated.value());
  FUZZ_CHECK(back && back.value() == plain.value());
  FUZZ_CHECK(ring().primary().extract_timestamp(rotated.value()).value() == stamp.value());
}

std::string sign(std::string_view body) {
  auto raw = protocol::base64url_decode(kKey).value();
  unsigned char mac[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), raw.data(), 16, reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  std::string token(body);
  token.append(reinterpret_cast<const char*>(mac), len);
  return protocol::base64url_encode(token);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  int mode = in.u8() % 3;
  if (mode < 2) {
    auto ttl = in.i64();
    auto now = in.i64();
    std::string_view rest = in.rest();
    check_token(mode == 0 ? std::string(rest) : sign(rest), ttl, now);
    return 0;
  }
  auto k = Fernet::from_key(in.line());
  std::string_view text = in.rest();
  const Fernet& f = k ? k.value() : key();
  security::FernetIv iv{};
  auto token = f.encrypt_at_time(text, 499162800, iv);
  auto back = f.decrypt(token);
  FUZZ_CHECK(back && back.value() == text);
  FUZZ_CHECK(f.extract_timestamp(token).value() == 499162800);
  return 0;
}
