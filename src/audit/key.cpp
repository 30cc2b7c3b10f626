// The audit signing key (see key.hpp).
#include "audit/key.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

#include "audit/format.hpp"
#include "audit/merkle.hpp"
#include "protocol/base64.hpp"
#include "storage/private_file.hpp"

namespace bastion::audit {

namespace fs = std::filesystem;
using protocol::base64_decode;
using protocol::base64_encode;

namespace {

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::optional<AuditKey> AuditKey::read(const fs::path& dir, std::string* why) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  auto key_file = dir / "audit.key";
  auto text = storage::read_private_file(key_file, why);
  if (!text) return std::nullopt;
  auto sk = base64_decode(storage::first_line(*text));
  sodium_memzero(text->data(), text->size());
  if (!sk || sk->size() != crypto_sign_SECRETKEYBYTES) {
    *why = key_file.string() + " is not an Ed25519 audit key";
    return std::nullopt;
  }
  AuditKey k;
  k.sk_ = std::move(*sk);
  k.pk_.resize(crypto_sign_PUBLICKEYBYTES);
  crypto_sign_ed25519_sk_to_pk(reinterpret_cast<unsigned char*>(k.pk_.data()), bytes(k.sk_));
  k.key_id_ = compute_key_id(k.pk_);
  k.fingerprint_ = key_fingerprint(k.pk_);
  return k;
}

AuditKey AuditKey::load_or_create(const fs::path& dir, bool may_create) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  auto key_file = dir / "audit.key";
  std::error_code ec;
  std::optional<AuditKey> loaded;
  if (fs::exists(key_file, ec)) {
    std::string why;
    loaded = read(dir, &why);
    if (!loaded) throw std::runtime_error(why);
  } else if (!may_create) {
    throw std::runtime_error(
        "audit: " + key_file.string() +
        " is missing but the directory holds an audit log signed with it; restore the key (a new "
        "one would not match the fingerprint the log was pinned to), or move the log files away "
        "to start a new log");
  } else {
    loaded.emplace(AuditKey());
    AuditKey& k = *loaded;
    k.sk_.resize(crypto_sign_SECRETKEYBYTES);
    k.pk_.resize(crypto_sign_PUBLICKEYBYTES);
    crypto_sign_keypair(reinterpret_cast<unsigned char*>(k.pk_.data()),
                        reinterpret_cast<unsigned char*>(k.sk_.data()));
    storage::write_private_file(key_file, base64_encode(k.sk_) + "\n");
    k.created_ = true;
    k.key_id_ = compute_key_id(k.pk_);
    k.fingerprint_ = key_fingerprint(k.pk_);
  }
  // For convenience only (verify never trusts it); rewritten when it does
  // not match the signing key. Best effort: a full disk must not keep the
  // log from opening (it then refuses calls until space returns).
  std::string pub = loaded->public_key_b64() + "\n";
  std::ifstream in(dir / "audit.pub");
  std::string have((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (have != pub) {
    try {
      storage::write_private_file(dir / "audit.pub", pub);
    } catch (const std::exception& e) {
      spdlog::warn("audit: cannot write {}: {}", (dir / "audit.pub").string(), e.what());
    }
  }
  return std::move(*loaded);
}

AuditKey::AuditKey(AuditKey&& o) noexcept = default;
AuditKey& AuditKey::operator=(AuditKey&& o) noexcept = default;

AuditKey::~AuditKey() {
  if (!sk_.empty()) sodium_memzero(sk_.data(), sk_.size());
}

std::string AuditKey::public_key_b64() const { return base64_encode(pk_); }

std::string AuditKey::sign(std::string_view msg) const {
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, bytes(msg), msg.size(), bytes(sk_));
  return base64_encode(std::string_view(reinterpret_cast<const char*>(sig), sizeof sig));
}

std::string key_fingerprint(std::string_view pk) {
  auto h = merkle::sha256(pk);
  std::string b64 =
      base64_encode(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

std::optional<std::string> parse_fingerprint(std::string_view text) {
  if (text.rfind("SHA256:", 0) == 0) text.remove_prefix(7);
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  // 32 bytes are 43 base64 characters without padding (+ one '=').
  if (text.size() != 43) return std::nullopt;
  auto raw = base64_decode(std::string(text) + "=");
  if (!raw || raw->size() != 32) return std::nullopt;
  return "SHA256:" + std::string(text);
}

std::optional<std::string> parse_public_key(std::string_view b64) {
  auto pk = base64_decode(storage::first_line(b64));
  if (!pk || pk->size() != crypto_sign_PUBLICKEYBYTES) return std::nullopt;
  return pk;
}

bool signature_valid(std::string_view pk, std::string_view msg, std::string_view sig_b64) {
  if (pk.size() != crypto_sign_PUBLICKEYBYTES) return false;
  auto sig = base64_decode(sig_b64);
  return sig && sig->size() == crypto_sign_BYTES &&
         crypto_sign_verify_detached(bytes(*sig), bytes(msg), msg.size(), bytes(pk)) == 0;
}

}  // namespace bastion::audit
