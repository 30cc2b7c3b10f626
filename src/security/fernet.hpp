// Fernet symmetric tokens, byte-compatible with Python's cryptography.fernet
// (spec: https://github.com/fernet/spec). Used to encrypt PII values under the
// `encrypt` policy, the secrets store, and the `test_encryption` tool.
//
//   token = base64url( 0x80 | timestamp (u64 BE) | IV (16) | AES-128-CBC/PKCS7 ciphertext
//                      | HMAC-SHA256(signing key, all preceding bytes) )
//   key   = base64url(32 bytes): first 16 sign, last 16 encrypt.
//
// Tokens are untrusted input: every failure is a CryptoError value, never an
// exception. Decryption checks the HMAC (constant time) before anything else,
// so "expired" is only ever reported for authentic tokens. As in Python, a TTL
// check also refuses tokens stamped more than 60 s in the future.
//
// Thread-safety: Fernet and MultiFernet are immutable after construction; all
// const members may be called concurrently.
#pragma once

#include <array>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/expected.hpp"

namespace bastion::security {

// An expected failure in the crypto/keys/audit code, carried as a value.
struct CryptoError {
  enum class Code {
    kInvalidToken,  // not a well-formed token (encoding, version, length, padding)
    kBadSignature,  // HMAC mismatch: wrong key or tampered token
    kExpired,       // authentic but older than the TTL
    kFutureToken,   // authentic but stamped too far in the future (TTL checks only)
    kBadKey,        // a key that is not 32 bytes of url-safe base64
    kInvalidArgument,
    kNotFound,
    kIo,
  };
  Code code = Code::kInvalidToken;
  std::string reason;
};

std::string_view to_string(CryptoError::Code code);

// Either a T or a CryptoError: ok()/value()/error()/code()/reason().
template <class T>
using CryptoResult = protocol::Expected<T, CryptoError>;

using CryptoStatus = CryptoResult<std::monostate>;

using FernetIv = std::array<unsigned char, 16>;

// Seconds since the Unix epoch, the unit Fernet timestamps use.
std::int64_t unix_now();

class Fernet {
 public:
  // Parses a url-safe base64 key (44 characters with padding).
  static CryptoResult<Fernet> from_key(std::string_view b64_key);
  // A fresh random key, url-safe base64 (RAND_bytes).
  static std::string generate_key();

  Fernet(const Fernet&) = default;
  Fernet& operator=(const Fernet&) = default;
  ~Fernet();

  // Encrypts with the current time and a random IV.
  std::string encrypt(std::string_view plaintext) const;
  // Deterministic form for tests and for rotation (which keeps the original
  // timestamp). `iv` defaults to random bytes.
  std::string encrypt_at_time(std::string_view plaintext, std::int64_t unix_time,
                              std::optional<FernetIv> iv = std::nullopt) const;

  // Verifies and decrypts. With a ttl, refuses tokens older than ttl at `now`
  // (and tokens more than 60 s in the future). `now` defaults to unix_now().
  CryptoResult<std::string> decrypt(std::string_view token,
                                    std::optional<std::chrono::seconds> ttl = std::nullopt,
                                    std::optional<std::int64_t> now = std::nullopt) const;
  // The token's timestamp after verifying its signature (no TTL check).
  CryptoResult<std::int64_t> extract_timestamp(std::string_view token) const;

  // A short public fingerprint of the key ("fk_" + 12 hex digits of a
  // domain-separated SHA-256): safe to log and to show in tools.
  std::string key_id() const;

 private:
  Fernet() = default;
  friend class MultiFernet;
  // Parsed token bytes after the signature check.
  struct Verified {
    std::int64_t timestamp;
    std::string plaintext;
  };
  CryptoResult<Verified> open(std::string_view raw) const;

  std::array<unsigned char, 16> signing_{};
  std::array<unsigned char, 16> encryption_{};
};

// Several keys: encrypts with the first (newest), decrypts with any. The
// keyring form used for key rotation.
class MultiFernet {
 public:
  // Throws std::invalid_argument when `keys` is empty (a configuration error).
  explicit MultiFernet(std::vector<Fernet> keys);

  std::string encrypt(std::string_view plaintext) const;
  std::string encrypt_at_time(std::string_view plaintext, std::int64_t unix_time,
                              std::optional<FernetIv> iv = std::nullopt) const;
  CryptoResult<std::string> decrypt(std::string_view token,
                                    std::optional<std::chrono::seconds> ttl = std::nullopt,
                                    std::optional<std::int64_t> now = std::nullopt) const;
  CryptoResult<std::int64_t> extract_timestamp(std::string_view token) const;
  // Re-encrypts an authentic token under the newest key, keeping its original
  // timestamp (so TTLs still count from the first encryption).
  CryptoResult<std::string> rotate(std::string_view token) const;

  std::size_t size() const { return keys_.size(); }
  const Fernet& primary() const { return keys_.front(); }
  const std::vector<Fernet>& keys() const { return keys_; }

 private:
  std::vector<Fernet> keys_;
};

}  // namespace bastion::security
