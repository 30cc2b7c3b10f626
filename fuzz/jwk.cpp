// JSON Web Keys and key sets (auth::Key::from_jwk, parse_jwks): what an
// external issuer's JWKS endpoint and the key files hold, and base64url.
// Input: a JSON text. Promises checked: a key that parses re-parses from its
// own public (and private) JWK with the same thumbprint, kid and algorithm;
// symmetric keys have no public JWK; a key set yields only asymmetric keys
// with a kid; base64url decoding is canonical (one encoding per value).
#include <boost/json.hpp>

#include "auth/external_jwks.hpp"
#include "auth/jwt.hpp"
#include "fuzz_util.hpp"

namespace {

using namespace bastion;
using namespace bastion::auth;
namespace json = boost::json;

void check_key(const Key& k) {
  FUZZ_CHECK(!k.kid().empty());
  FUZZ_CHECK(k.bits() > 0);
  json::object pub = k.public_jwk();
  if (k.symmetric()) {
    FUZZ_CHECK(pub.empty());
  } else {
    FUZZ_CHECK(!pub.contains("d") && !pub.contains("p") && !pub.contains("k"));
    auto again = Key::from_jwk(pub);
    // OpenSSL's RSA public check runs an enhanced Miller-Rabin test with
    // random bases on n: for a modulus that is not a product of two large
    // primes (a fuzzed one) it finds a factor only sometimes, so the same
    // bogus key is accepted or refused at random. Real keys always pass.
    if (!again && k.kty() == Kty::kRSA && again.reason() == "RSA public key failed validation")
      return;
    if (!again) std::fprintf(stderr, "public JWK rejected: %s\n", again.reason().c_str());
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again.value().thumbprint() == k.thumbprint());
    FUZZ_CHECK(again.value().alg() == k.alg());
    FUZZ_CHECK(again.value().kid() == k.kid());
    FUZZ_CHECK(!again.value().has_private());
  }
  if (k.has_private() || k.symmetric()) {
    auto again = Key::from_jwk(k.private_jwk());
    if (!again && k.kty() == Kty::kRSA &&
        again.reason().find("failed validation") != std::string::npos)
      return;  // as above
    if (!again) std::fprintf(stderr, "private JWK rejected: %s\n", again.reason().c_str());
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again.value().thumbprint() == k.thumbprint());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  if (auto raw = b64url_decode(text)) FUZZ_CHECK(b64url_encode(*raw) == text);

  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return 0;
  for (const auto& k : parse_jwks(v)) {
    FUZZ_CHECK(!k->symmetric() && !k->kid().empty());
    check_key(*k);
  }
  if (!v.is_object()) return 0;
  for (std::optional<Alg> alg :
       {std::optional<Alg>(), std::optional<Alg>(Alg::kES256), std::optional<Alg>(Alg::kRS256),
        std::optional<Alg>(Alg::kEdDSA), std::optional<Alg>(Alg::kHS256)}) {
    auto k = Key::from_jwk(v.as_object(), alg);
    if (k) check_key(k.value());
  }
  return 0;
}
