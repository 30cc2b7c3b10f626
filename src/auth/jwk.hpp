// JSON Web Keys: base64url (RFC 7515 §2), keys (RFC 7517/7518, OKP from
// RFC 8037), RFC 7638 thumbprints, and each key's raw signature primitive
// (RFC 7518 §3). The compact JWS format on top of them is in auth/jws.hpp.
//
// A Key carries exactly one pinned algorithm. Verification takes the key, not
// the token's word for it: a header `alg` that differs from the key's is
// rejected, which closes the classic alg-confusion holes (RS256 public key used
// as an HS256 secret, `none`). All crypto is OpenSSL 3 EVP; nothing here is
// hand-rolled beyond the ECDSA DER <-> raw R||S conversion JWS requires.
//
// Thread-safety: Key is immutable after construction and may be shared across
// threads; the free functions are reentrant.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/result.hpp"
#include "protocol/sha256.hpp"

struct evp_pkey_st;

namespace bastion::auth {

namespace json = boost::json;

// --- base64url without padding (protocol/base64.hpp's codec) --------------

std::string b64url_encode(std::string_view bytes);
// Strict: rejects padding, whitespace, characters outside the URL alphabet,
// a 1-character final group and non-zero trailing bits (so every decoded
// value has exactly one encoding).
std::optional<std::string> b64url_decode(std::string_view text);

// --- algorithms ------------------------------------------------------------

enum class Alg {
  kES256,  // ECDSA P-256 / SHA-256 (default for Bastion's own keys)
  kES384,  // verify-only use in practice (vectors, external issuers)
  kES512,
  kRS256,  // RSASSA-PKCS1-v1_5 / SHA-256, modulus >= 2048 bits
  kPS256,  // RSASSA-PSS, salt = hash length
  kPS384,
  kPS512,
  kEdDSA,  // Ed25519 (RFC 8037)
  kHS256,  // HMAC-SHA256 with a shared secret of at least 32 bytes
};
std::string_view alg_name(Alg alg);
// nullopt for unknown names and for "none", which is never an algorithm here.
std::optional<Alg> alg_from_name(std::string_view name);
bool is_symmetric(Alg alg);

enum class Kty { kEC, kRSA, kOKP, kOct };
std::string_view kty_name(Kty kty);

// Minimum HMAC key size (RFC 7518 §3.2: at least the hash output size).
inline constexpr std::size_t kMinHmacKeyBytes = 32;
inline constexpr int kMinRsaBits = 2048;
// Largest RSA modulus Bastion imports or generates. A JWK can come from an
// untrusted party (a client's metadata document or registration), and
// OpenSSL's public-key check runs a primality test on the modulus whose cost
// grows with the cube of its size: a 5,312-bit modulus without small factors
// took 0.46 s (found by fuzz_jwk), 16,384 bits would take seconds per key.
inline constexpr int kMaxRsaBits = 4096;

// --- keys ------------------------------------------------------------------

class Key {
 public:
  // Parses a JWK. The algorithm is the JWK's "alg" member when present,
  // otherwise `alg`; a key with neither is refused (we never guess). The alg
  // must fit the key type/curve/size. `kid` defaults to the RFC 7638
  // thumbprint when the JWK has none.
  static Result<Key> from_jwk(const json::object& jwk, std::optional<Alg> alg = std::nullopt);
  // A fresh key for `alg` (P-256, RSA-`rsa_bits`, Ed25519, or 32 random bytes).
  // kid = thumbprint. Throws std::runtime_error if OpenSSL fails.
  static Key generate(Alg alg, int rsa_bits = 2048);
  // An HS256 key from raw secret bytes (>= kMinHmacKeyBytes unless
  // `allow_short` for test vectors that use shorter keys).
  static Result<Key> from_secret(std::string secret, bool allow_short = false);

  Alg alg() const { return alg_; }
  Kty kty() const { return kty_; }
  const std::string& kid() const { return kid_; }
  bool has_private() const { return has_private_; }
  bool symmetric() const { return kty_ == Kty::kOct; }
  // Key size in bits (RSA modulus, curve order, HMAC key).
  int bits() const;

  // Public JWK with kid, alg and use=sig. Empty object for symmetric keys:
  // they have no public half and must never be published.
  json::object public_jwk() const;
  // Every member including private parameters; for the key files only.
  json::object private_jwk() const;
  // RFC 7638 JWK thumbprint (SHA-256, base64url).
  std::string thumbprint() const;

  Key with_kid(std::string kid) const;

  // Raw signature over `input` in JWS format (ECDSA as R||S). Fails when the
  // key has no private part.
  Result<std::string> sign(std::string_view input) const;
  // Checks a JWS-format signature with this key and its pinned alg.
  bool verify(std::string_view input, std::string_view signature) const;

  // Implementation access (OpenSSL handle); nullptr for oct keys.
  evp_pkey_st* pkey() const { return pkey_.get(); }
  const std::string& secret() const { return secret_; }

 private:
  Key() = default;
  std::shared_ptr<evp_pkey_st> pkey_;
  std::string secret_;  // oct keys only
  Kty kty_ = Kty::kOct;
  Alg alg_ = Alg::kHS256;
  std::string kid_;
  bool has_private_ = false;
};

// HMAC-SHA256 (for tests of truncated-tag vectors and internal uses).
std::string hmac_sha256(std::string_view key, std::string_view data);
using protocol::sha256;  // raw 32 bytes (protocol/sha256.hpp)
// Cryptographically random bytes (OpenSSL RAND_bytes); throws on failure.
std::string random_bytes(std::size_t n);

}  // namespace bastion::auth
