#include "security/fernet.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

#include "protocol/base64.hpp"
#include "protocol/sha256.hpp"

namespace bastion::security {

using protocol::base64url_decode;
using protocol::base64url_encode;
using protocol::hex_encode;

namespace {

constexpr unsigned char kVersion = 0x80;
constexpr std::size_t kHeader = 1 + 8 + 16;  // version, timestamp, IV
constexpr std::size_t kMac = 32;
constexpr std::int64_t kMaxClockSkew = 60;  // seconds, as in cryptography.fernet

CryptoError err(CryptoError::Code c, std::string reason) { return {c, std::move(reason)}; }

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

std::array<unsigned char, kMac> hmac_sha256(const std::array<unsigned char, 16>& key,
                                            std::string_view data) {
  std::array<unsigned char, kMac> out{};
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len) ||
      len != kMac)
    throw std::runtime_error("HMAC-SHA256 failed");
  return out;
}

// AES-128-CBC with PKCS#7 padding. Decryption returns nullopt on a padding
// error or a ciphertext that is not whole blocks.
std::optional<std::string> aes_cbc(bool encrypt, const std::array<unsigned char, 16>& key,
                                   const unsigned char* iv, std::string_view in) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_CipherInit_ex(ctx.get(), EVP_aes_128_cbc(), nullptr, key.data(), iv,
                                encrypt ? 1 : 0) != 1)
    throw std::runtime_error("AES-128-CBC init failed");
  std::string out(in.size() + 16, '\0');
  int n1 = 0, n2 = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_CipherUpdate(ctx.get(), o, &n1, reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) != 1)
    return std::nullopt;
  if (EVP_CipherFinal_ex(ctx.get(), o + n1, &n2) != 1) return std::nullopt;
  out.resize(static_cast<std::size_t>(n1 + n2));
  return out;
}

void put_u64be(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out += static_cast<char>(v >> (8 * i) & 0xff);
}

std::uint64_t get_u64be(std::string_view s) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = v << 8 | static_cast<unsigned char>(s[i]);
  return v;
}

}  // namespace

std::string_view to_string(CryptoError::Code code) {
  switch (code) {
    case CryptoError::Code::kInvalidToken:
      return "invalid_token";
    case CryptoError::Code::kBadSignature:
      return "bad_signature";
    case CryptoError::Code::kExpired:
      return "expired";
    case CryptoError::Code::kFutureToken:
      return "future_token";
    case CryptoError::Code::kBadKey:
      return "bad_key";
    case CryptoError::Code::kInvalidArgument:
      return "invalid_argument";
    case CryptoError::Code::kNotFound:
      return "not_found";
    case CryptoError::Code::kIo:
      return "io_error";
  }
  return "unknown";
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CryptoResult<Fernet> Fernet::from_key(std::string_view b64_key) {
  // Keys are often pasted with a trailing newline; nothing else is forgiven.
  while (!b64_key.empty() && (b64_key.back() == '\n' || b64_key.back() == '\r'))
    b64_key.remove_suffix(1);
  auto raw = base64url_decode(b64_key);
  if (!raw || raw->size() != 32)
    return err(CryptoError::Code::kBadKey,
               "a Fernet key is 32 bytes of url-safe base64 (44 characters)");
  Fernet f;
  std::copy(raw->begin(), raw->begin() + 16, f.signing_.begin());
  std::copy(raw->begin() + 16, raw->end(), f.encryption_.begin());
  OPENSSL_cleanse(raw->data(), raw->size());
  return f;
}

std::string Fernet::generate_key() {
  std::string raw(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), 32) != 1)
    throw std::runtime_error("RAND_bytes failed");
  std::string key = base64url_encode(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

Fernet::~Fernet() {
  OPENSSL_cleanse(signing_.data(), signing_.size());
  OPENSSL_cleanse(encryption_.data(), encryption_.size());
}

std::string Fernet::encrypt(std::string_view plaintext) const {
  return encrypt_at_time(plaintext, unix_now());
}

std::string Fernet::encrypt_at_time(std::string_view plaintext, std::int64_t unix_time,
                                    std::optional<FernetIv> iv) const {
  FernetIv v{};
  if (iv) {
    v = *iv;
  } else if (RAND_bytes(v.data(), static_cast<int>(v.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::string token;
  token.reserve(kHeader + plaintext.size() + 16 + kMac);
  token += static_cast<char>(kVersion);
  put_u64be(token, static_cast<std::uint64_t>(unix_time));
  token.append(reinterpret_cast<const char*>(v.data()), v.size());
  token += *aes_cbc(true, encryption_, v.data(), plaintext);
  auto mac = hmac_sha256(signing_, token);
  token.append(reinterpret_cast<const char*>(mac.data()), mac.size());
  return base64url_encode(token);
}

CryptoResult<Fernet::Verified> Fernet::open(std::string_view raw) const {
  if (raw.size() < kHeader + 16 + kMac || static_cast<unsigned char>(raw[0]) != kVersion)
    return err(CryptoError::Code::kInvalidToken, "not a Fernet token (version or length)");
  auto body = raw.substr(0, raw.size() - kMac);
  auto mac = hmac_sha256(signing_, body);
  if (CRYPTO_memcmp(mac.data(), raw.data() + body.size(), kMac) != 0)
    return err(CryptoError::Code::kBadSignature, "signature mismatch (wrong key or altered token)");
  auto ct = body.substr(kHeader);
  if (ct.size() % 16 != 0)
    return err(CryptoError::Code::kInvalidToken, "ciphertext is not a whole number of blocks");
  auto pt = aes_cbc(false, encryption_, reinterpret_cast<const unsigned char*>(raw.data() + 9), ct);
  if (!pt) return err(CryptoError::Code::kInvalidToken, "bad padding");
  return Verified{static_cast<std::int64_t>(get_u64be(raw.substr(1, 8))), std::move(*pt)};
}

namespace {

std::optional<std::string> token_bytes(std::string_view token) {
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.remove_suffix(1);
  return base64url_decode(token);
}

CryptoStatus check_ttl(std::int64_t stamp, std::optional<std::chrono::seconds> ttl,
                       std::optional<std::int64_t> now) {
  if (!ttl) return std::monostate{};
  std::int64_t t = now ? *now : unix_now();
  // In 128 bits: a ttl of seconds::max() ("forever") or a stamp near the
  // ends of int64 overflowed (undefined behaviour; found by fuzz/fernet).
  using Wide = __int128;
  if (Wide{stamp} + ttl->count() < t) return err(CryptoError::Code::kExpired, "token has expired");
  if (Wide{t} + kMaxClockSkew < stamp)
    return err(CryptoError::Code::kFutureToken, "token is stamped in the future");
  return std::monostate{};
}

}  // namespace

CryptoResult<std::string> Fernet::decrypt(std::string_view token,
                                          std::optional<std::chrono::seconds> ttl,
                                          std::optional<std::int64_t> now) const {
  auto raw = token_bytes(token);
  if (!raw) return err(CryptoError::Code::kInvalidToken, "not url-safe base64");
  auto v = open(*raw);
  if (!v) return v.error();
  if (auto t = check_ttl(v.value().timestamp, ttl, now); !t) return t.error();
  return std::move(v.value().plaintext);
}

CryptoResult<std::int64_t> Fernet::extract_timestamp(std::string_view token) const {
  auto raw = token_bytes(token);
  if (!raw) return err(CryptoError::Code::kInvalidToken, "not url-safe base64");
  auto v = open(*raw);
  if (!v) return v.error();
  return v.value().timestamp;
}

std::string Fernet::key_id() const {
  static constexpr std::string_view kDomain = "bastion fernet key id\n";
  std::string material(kDomain);
  material.append(reinterpret_cast<const char*>(signing_.data()), signing_.size());
  material.append(reinterpret_cast<const char*>(encryption_.data()), encryption_.size());
  std::string d = protocol::sha256(material);
  OPENSSL_cleanse(material.data(), material.size());
  return "fk_" + hex_encode(std::string_view(d).substr(0, 6));
}

// --- MultiFernet --------------------------------------------------------------

MultiFernet::MultiFernet(std::vector<Fernet> keys) : keys_(std::move(keys)) {
  if (keys_.empty()) throw std::invalid_argument("MultiFernet needs at least one key");
}

std::string MultiFernet::encrypt(std::string_view plaintext) const {
  return keys_.front().encrypt(plaintext);
}

std::string MultiFernet::encrypt_at_time(std::string_view plaintext, std::int64_t unix_time,
                                         std::optional<FernetIv> iv) const {
  return keys_.front().encrypt_at_time(plaintext, unix_time, iv);
}

namespace {

// Tries each key in turn; the error reported is the most telling one (an
// authentic-but-expired token beats a signature mismatch under other keys).
template <class F>
auto first_key(const std::vector<Fernet>& keys, F&& f) -> decltype(f(keys.front())) {
  std::optional<CryptoError> best;
  for (const auto& k : keys) {
    auto r = f(k);
    if (r) return r;
    if (!best || best->code == CryptoError::Code::kBadSignature) best = r.error();
  }
  return *best;
}

}  // namespace

CryptoResult<std::string> MultiFernet::decrypt(std::string_view token,
                                               std::optional<std::chrono::seconds> ttl,
                                               std::optional<std::int64_t> now) const {
  return first_key(keys_, [&](const Fernet& k) { return k.decrypt(token, ttl, now); });
}

CryptoResult<std::int64_t> MultiFernet::extract_timestamp(std::string_view token) const {
  return first_key(keys_, [&](const Fernet& k) { return k.extract_timestamp(token); });
}

CryptoResult<std::string> MultiFernet::rotate(std::string_view token) const {
  auto raw = token_bytes(token);
  if (!raw) return err(CryptoError::Code::kInvalidToken, "not url-safe base64");
  auto v = first_key(keys_, [&](const Fernet& k) { return k.open(*raw); });
  if (!v) return v.error();
  std::string out = keys_.front().encrypt_at_time(v.value().plaintext, v.value().timestamp);
  OPENSSL_cleanse(v.value().plaintext.data(), v.value().plaintext.size());
  return out;
}

}  // namespace bastion::security
