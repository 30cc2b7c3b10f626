// JSON Web Keys: import/export and thumbprints for EC, RSA, OKP and oct keys,
// and their raw JWS signature primitives.
// Over 500 lines for a reason: one Key type over four key families, each with
// import, validation, export and sign/verify, sharing one set of OpenSSL
// tables (curves, digests, RAII handles); splitting by family would scatter them.
#include "auth/jwk.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <array>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/base64.hpp"

namespace bastion::auth {

namespace {

// The two size refusals, worded from the limits in jwk.hpp.
const std::string kRsaTooSmall =
    "RSA keys must be at least " + std::to_string(kMinRsaBits) + " bits";
const std::string kRsaTooLarge =
    "RSA keys must be at most " + std::to_string(kMaxRsaBits) + " bits";

// --- small RAII wrappers ----------------------------------------------------
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* p) { return std::shared_ptr<EVP_PKEY>(p, PkeyFree{}); }

struct CurveInfo {
  std::string_view crv;     // JWK name
  std::string_view group;   // OpenSSL group name
  std::size_t coord_bytes;  // field element size
  Alg alg;
};
constexpr std::array<CurveInfo, 3> kCurves = {{
    {"P-256", "prime256v1", 32, Alg::kES256},
    {"P-384", "secp384r1", 48, Alg::kES384},
    {"P-521", "secp521r1", 66, Alg::kES512},
}};

const CurveInfo* curve_by_crv(std::string_view crv) {
  for (const auto& c : kCurves)
    if (c.crv == crv) return &c;
  return nullptr;
}
const CurveInfo* curve_by_alg(Alg alg) {
  for (const auto& c : kCurves)
    if (c.alg == alg) return &c;
  return nullptr;
}
const CurveInfo* curve_of(EVP_PKEY* pkey) {
  char name[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) !=
      1)
    return nullptr;
  for (const auto& c : kCurves)
    if (c.group == std::string_view(name, len)) return &c;
  return nullptr;
}

const EVP_MD* digest_of(Alg alg) {
  switch (alg) {
    case Alg::kES256:
    case Alg::kRS256:
    case Alg::kPS256:
    case Alg::kHS256:
      return EVP_sha256();
    case Alg::kES384:
    case Alg::kPS384:
      return EVP_sha384();
    case Alg::kES512:
    case Alg::kPS512:
      return EVP_sha512();
    case Alg::kEdDSA:
      return nullptr;
  }
  return nullptr;
}

bool is_ec(Alg a) { return a == Alg::kES256 || a == Alg::kES384 || a == Alg::kES512; }
bool is_pss(Alg a) { return a == Alg::kPS256 || a == Alg::kPS384 || a == Alg::kPS512; }
bool is_rsa(Alg a) { return a == Alg::kRS256 || is_pss(a); }

std::string bn_to_bytes(const BIGNUM* bn, std::size_t pad = 0) {
  std::size_t n = pad ? pad : static_cast<std::size_t>(BN_num_bytes(bn));
  std::string out(n, '\0');
  if (pad) {
    if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), int(n)) < 0) return {};
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  return out;
}

BnPtr bytes_to_bn(std::string_view b) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(b.data()), int(b.size()), nullptr));
}

std::string get_bn_param(EVP_PKEY* pkey, const char* name, std::size_t pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return {};
  BnPtr holder(bn);
  return bn_to_bytes(bn, pad);
}

bool is_string(const json::value& v, std::string_view s) {
  return v.is_string() && v.get_string() == s;
}

std::string fmt_missing(std::string_view name) {
  return "JWK is missing '" + std::string(name) + "'";
}

// Reads a required base64url member of a JWK.
Result<std::string> b64_member(const json::object& jwk, std::string_view name) {
  auto it = jwk.find(name);
  if (it == jwk.end()) return fail(fmt_missing(name));
  if (!it->value().is_string())
    return fail("JWK member '" + std::string(name) + "' is not a string");
  auto bytes = b64url_decode(it->value().as_string());
  if (!bytes) return fail("JWK member '" + std::string(name) + "' is not base64url");
  return *bytes;
}

Result<std::shared_ptr<EVP_PKEY>> from_params(const char* type, OSSL_PARAM_BLD* bld, bool priv) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
    return fail("OpenSSL could not prepare the key import");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1)
    return fail(std::string(type) + " key parameters rejected by OpenSSL");
  auto pkey = share(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    return fail(std::string(type) + " public key failed validation");
  if (priv && EVP_PKEY_pairwise_check(check.get()) != 1)
    return fail(std::string(type) + " private key does not match its public key");
  return pkey;
}

}  // namespace

// --- base64url ----------------------------------------------------------------

std::string b64url_encode(std::string_view in) { return protocol::base64url_nopad_encode(in); }

std::optional<std::string> b64url_decode(std::string_view in) {
  return protocol::base64url_nopad_decode(in);
}

// --- algorithms -------------------------------------------------------------------

std::string_view alg_name(Alg alg) {
  switch (alg) {
    case Alg::kES256:
      return "ES256";
    case Alg::kES384:
      return "ES384";
    case Alg::kES512:
      return "ES512";
    case Alg::kRS256:
      return "RS256";
    case Alg::kPS256:
      return "PS256";
    case Alg::kPS384:
      return "PS384";
    case Alg::kPS512:
      return "PS512";
    case Alg::kEdDSA:
      return "EdDSA";
    case Alg::kHS256:
      return "HS256";
  }
  return "?";
}

std::optional<Alg> alg_from_name(std::string_view name) {
  for (Alg a : {Alg::kES256, Alg::kES384, Alg::kES512, Alg::kRS256, Alg::kPS256, Alg::kPS384,
                Alg::kPS512, Alg::kEdDSA, Alg::kHS256})
    if (alg_name(a) == name) return a;
  return std::nullopt;
}

bool is_symmetric(Alg alg) { return alg == Alg::kHS256; }

std::string_view kty_name(Kty kty) {
  switch (kty) {
    case Kty::kEC:
      return "EC";
    case Kty::kRSA:
      return "RSA";
    case Kty::kOKP:
      return "OKP";
    case Kty::kOct:
      return "oct";
  }
  return "?";
}

// --- primitives ------------------------------------------------------------------

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), int(n)) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  return out;
}

// --- Key -------------------------------------------------------------------------

Result<Key> Key::from_secret(std::string secret, bool allow_short) {
  if (secret.size() < kMinHmacKeyBytes && !allow_short)
    return fail("HS256 secret must be at least 32 bytes (RFC 7518 §3.2)");
  if (secret.empty()) return fail("HS256 secret is empty");
  Key k;
  k.kty_ = Kty::kOct;
  k.alg_ = Alg::kHS256;
  k.secret_ = std::move(secret);
  k.has_private_ = true;
  k.kid_ = k.thumbprint();
  return k;
}

Result<Key> Key::from_jwk(const json::object& jwk, std::optional<Alg> alg_hint) {
  auto kty_it = jwk.find("kty");
  if (kty_it == jwk.end() || !kty_it->value().is_string()) return fail("JWK has no 'kty'");
  std::string_view kty = kty_it->value().as_string();

  std::optional<Alg> alg = alg_hint;
  if (auto it = jwk.find("alg"); it != jwk.end()) {
    if (!it->value().is_string()) return fail("JWK 'alg' is not a string");
    alg = alg_from_name(it->value().as_string());
    if (!alg)
      return fail("JWK alg '" + std::string(it->value().as_string()) + "' is not supported");
    if (alg_hint && *alg_hint != *alg)
      return fail("JWK alg " + std::string(alg_name(*alg)) + " differs from the expected " +
                  std::string(alg_name(*alg_hint)));
  }
  if (auto it = jwk.find("use"); it != jwk.end() && !is_string(it->value(), "sig"))
    return fail("JWK 'use' is not 'sig'");

  Key k;
  if (kty == "oct") {
    if (!alg) alg = Alg::kHS256;
    if (*alg != Alg::kHS256) return fail("oct keys are only usable with HS256");
    auto secret = b64_member(jwk, "k");
    if (!secret) return secret.error();
    auto r = from_secret(std::move(secret.value()), /*allow_short=*/false);
    if (!r) return r;
    k = std::move(r.value());
  } else if (kty == "EC") {
    auto crv_it = jwk.find("crv");
    if (crv_it == jwk.end() || !crv_it->value().is_string()) return fail("EC JWK has no 'crv'");
    const CurveInfo* curve = curve_by_crv(crv_it->value().as_string());
    if (!curve)
      return fail("EC curve '" + std::string(crv_it->value().as_string()) + "' is not supported");
    if (!alg) alg = curve->alg;
    if (*alg != curve->alg)
      return fail("alg " + std::string(alg_name(*alg)) + " does not fit curve " +
                  std::string(curve->crv));
    auto x = b64_member(jwk, "x");
    auto y = b64_member(jwk, "y");
    if (!x) return x.error();
    if (!y) return y.error();
    if (x->size() != curve->coord_bytes || y->size() != curve->coord_bytes)
      return fail("EC coordinates must be exactly " + std::to_string(curve->coord_bytes) +
                  " bytes");
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    std::string pub = "\x04" + x.value() + y.value();
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve->group.data(), 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size());
    BnPtr d;
    bool priv = jwk.contains("d");
    if (priv) {
      auto dbytes = b64_member(jwk, "d");
      if (!dbytes) return dbytes.error();
      if (dbytes->size() != curve->coord_bytes)
        return fail("EC 'd' must be exactly " + std::to_string(curve->coord_bytes) + " bytes");
      d = bytes_to_bn(dbytes.value());
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get());
    }
    auto pkey = from_params("EC", bld.get(), priv);
    if (!pkey) return pkey.error();
    k.pkey_ = pkey.value();
    k.kty_ = Kty::kEC;
    k.has_private_ = priv;
  } else if (kty == "RSA") {
    if (!alg) return fail("RSA JWK without 'alg': pass the algorithm to pin");
    if (!is_rsa(*alg))
      return fail("alg " + std::string(alg_name(*alg)) + " does not fit an RSA key");
    auto n = b64_member(jwk, "n");
    auto e = b64_member(jwk, "e");
    if (!n) return n.error();
    if (!e) return e.error();
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    std::vector<BnPtr> bns;
    auto push = [&](const char* param, const std::string& bytes) {
      bns.push_back(bytes_to_bn(bytes));
      OSSL_PARAM_BLD_push_BN(bld.get(), param, bns.back().get());
    };
    // Refused before OpenSSL sees it (kMaxRsaBits): leading zero bytes do
    // not count.
    std::string_view n_bytes = n.value();
    while (!n_bytes.empty() && n_bytes.front() == '\0') n_bytes.remove_prefix(1);
    if (n_bytes.size() * 8 > static_cast<std::size_t>(kMaxRsaBits))
      return fail(kRsaTooLarge);
    push(OSSL_PKEY_PARAM_RSA_N, n.value());
    push(OSSL_PKEY_PARAM_RSA_E, e.value());
    bool priv = jwk.contains("d");
    if (priv) {
      static constexpr std::array<std::pair<std::string_view, const char*>, 5> kCrt = {{
          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
          {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
          {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
          {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
          {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
      }};
      auto d = b64_member(jwk, "d");
      if (!d) return d.error();
      push(OSSL_PKEY_PARAM_RSA_D, d.value());
      for (const auto& [name, param] : kCrt) {
        auto v = b64_member(jwk, name);
        if (!v) return fail("RSA private JWK needs the CRT parameters: " + v.reason());
        push(param, v.value());
      }
    }
    auto pkey = from_params("RSA", bld.get(), priv);
    if (!pkey) return pkey.error();
    k.pkey_ = pkey.value();
    k.kty_ = Kty::kRSA;
    k.has_private_ = priv;
    if (EVP_PKEY_get_bits(k.pkey_.get()) < kMinRsaBits)
      return fail(kRsaTooSmall);
  } else if (kty == "OKP") {
    auto crv_it = jwk.find("crv");
    if (crv_it == jwk.end() || !is_string(crv_it->value(), "Ed25519"))
      return fail("OKP JWK: only crv Ed25519 is supported");
    if (!alg) alg = Alg::kEdDSA;
    if (*alg != Alg::kEdDSA) return fail("Ed25519 keys are only usable with EdDSA");
    auto x = b64_member(jwk, "x");
    if (!x) return x.error();
    if (x->size() != 32) return fail("Ed25519 'x' must be 32 bytes");
    EVP_PKEY* raw = nullptr;
    if (jwk.contains("d")) {
      auto d = b64_member(jwk, "d");
      if (!d) return d.error();
      if (d->size() != 32) return fail("Ed25519 'd' must be 32 bytes");
      raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                         reinterpret_cast<const unsigned char*>(d->data()), 32);
      k.has_private_ = true;
    } else {
      raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(x->data()), 32);
    }
    if (!raw) return fail("Ed25519 key rejected by OpenSSL");
    k.pkey_ = share(raw);
    k.kty_ = Kty::kOKP;
    if (k.has_private_) {
      unsigned char pub[32];
      std::size_t len = sizeof pub;
      if (EVP_PKEY_get_raw_public_key(raw, pub, &len) != 1 ||
          std::string_view(reinterpret_cast<char*>(pub), len) != x.value())
        return fail("Ed25519 'x' does not match 'd'");
    }
  } else {
    return fail("JWK kty '" + std::string(kty) + "' is not supported");
  }
  k.alg_ = *alg;
  // An empty kid names nothing (a token's header could not select the key
  // by it, and a key set skips it): it defaults like an absent one.
  if (auto it = jwk.find("kid");
      it != jwk.end() && it->value().is_string() && !it->value().as_string().empty())
    k.kid_ = std::string(it->value().as_string());
  else
    k.kid_ = k.thumbprint();
  return k;
}

Key Key::generate(Alg alg, int rsa_bits) {
  Key k;
  k.alg_ = alg;
  k.has_private_ = true;
  EVP_PKEY* raw = nullptr;
  if (alg == Alg::kHS256) {
    k.kty_ = Kty::kOct;
    k.secret_ = random_bytes(32);
  } else if (is_ec(alg)) {
    k.kty_ = Kty::kEC;
    raw = EVP_EC_gen(curve_by_alg(alg)->group.data());
  } else if (is_rsa(alg)) {
    if (rsa_bits < kMinRsaBits) throw std::invalid_argument(kRsaTooSmall);
    if (rsa_bits > kMaxRsaBits) throw std::invalid_argument(kRsaTooLarge);
    k.kty_ = Kty::kRSA;
    raw = EVP_RSA_gen(static_cast<unsigned>(rsa_bits));
  } else {
    k.kty_ = Kty::kOKP;
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (k.kty_ != Kty::kOct) {
    if (!raw) throw std::runtime_error("OpenSSL key generation failed");
    k.pkey_ = share(raw);
  }
  k.kid_ = k.thumbprint();
  return k;
}

Key Key::with_kid(std::string kid) const {
  Key k = *this;
  k.kid_ = std::move(kid);
  return k;
}

int Key::bits() const {
  if (kty_ == Kty::kOct) return int(secret_.size() * 8);
  return EVP_PKEY_get_bits(pkey_.get());
}

namespace {
// Members that define the key (RFC 7638 §3.2), in lexicographic order.
std::vector<std::pair<std::string, std::string>> required_members(const Key& k) {
  EVP_PKEY* p = k.pkey();
  switch (k.kty()) {
    case Kty::kEC: {
      const CurveInfo* c = curve_of(p);
      std::size_t n = c ? c->coord_bytes : 32;
      return {{"crv", std::string(c ? c->crv : "?")},
              {"kty", "EC"},
              {"x", b64url_encode(get_bn_param(p, OSSL_PKEY_PARAM_EC_PUB_X, n))},
              {"y", b64url_encode(get_bn_param(p, OSSL_PKEY_PARAM_EC_PUB_Y, n))}};
    }
    case Kty::kRSA:
      return {{"e", b64url_encode(get_bn_param(p, OSSL_PKEY_PARAM_RSA_E))},
              {"kty", "RSA"},
              {"n", b64url_encode(get_bn_param(p, OSSL_PKEY_PARAM_RSA_N))}};
    case Kty::kOKP: {
      unsigned char pub[32];
      std::size_t len = sizeof pub;
      EVP_PKEY_get_raw_public_key(p, pub, &len);
      return {{"crv", "Ed25519"},
              {"kty", "OKP"},
              {"x", b64url_encode(std::string_view(reinterpret_cast<char*>(pub), len))}};
    }
    case Kty::kOct:
      return {{"k", b64url_encode(k.secret())}, {"kty", "oct"}};
  }
  return {};
}
}  // namespace

std::string Key::thumbprint() const {
  // Canonical form: required members only, sorted, no whitespace. All values
  // are plain ASCII (base64url, curve names), so no escaping is needed.
  std::string canon = "{";
  bool first = true;
  for (const auto& [k, v] : required_members(*this)) {
    if (!first) canon += ',';
    first = false;
    canon += '"' + k + "\":\"" + v + '"';
  }
  canon += '}';
  return b64url_encode(sha256(canon));
}

json::object Key::public_jwk() const {
  json::object o;
  if (kty_ == Kty::kOct) return o;
  for (const auto& [k, v] : required_members(*this)) o[k] = v;
  o["kid"] = kid_;
  o["alg"] = alg_name(alg_);
  o["use"] = "sig";
  return o;
}

json::object Key::private_jwk() const {
  json::object o;
  for (const auto& [k, v] : required_members(*this)) o[k] = v;
  o["kid"] = kid_;
  o["alg"] = alg_name(alg_);
  o["use"] = "sig";
  if (!has_private_ || kty_ == Kty::kOct) return o;
  EVP_PKEY* p = pkey_.get();
  if (kty_ == Kty::kEC) {
    const CurveInfo* c = curve_of(p);
    o["d"] = b64url_encode(get_bn_param(p, OSSL_PKEY_PARAM_PRIV_KEY, c ? c->coord_bytes : 32));
  } else if (kty_ == Kty::kRSA) {
    o["d"] = b64url_encode(get_bn_param(p, OSSL_PKEY_PARAM_RSA_D));
    o["p"] = b64url_encode(get_bn_param(p, OSSL_PKEY_PARAM_RSA_FACTOR1));
    o["q"] = b64url_encode(get_bn_param(p, OSSL_PKEY_PARAM_RSA_FACTOR2));
    o["dp"] = b64url_encode(get_bn_param(p, OSSL_PKEY_PARAM_RSA_EXPONENT1));
    o["dq"] = b64url_encode(get_bn_param(p, OSSL_PKEY_PARAM_RSA_EXPONENT2));
    o["qi"] = b64url_encode(get_bn_param(p, OSSL_PKEY_PARAM_RSA_COEFFICIENT1));
  } else if (kty_ == Kty::kOKP) {
    unsigned char d[32];
    std::size_t len = sizeof d;
    EVP_PKEY_get_raw_private_key(p, d, &len);
    o["d"] = b64url_encode(std::string_view(reinterpret_cast<char*>(d), len));
    OPENSSL_cleanse(d, sizeof d);
  }
  return o;
}

namespace {
bool configure_pss(EVP_PKEY_CTX* pctx, Alg alg) {
  if (!is_pss(alg)) return true;
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest_of(alg)) == 1;
}
}  // namespace

Result<std::string> Key::sign(std::string_view input) const {
  if (!has_private_) return fail("key " + kid_ + " has no private part");
  if (kty_ == Kty::kOct) return hmac_sha256(secret_, input);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, digest_of(alg_), nullptr, pkey_.get()) != 1 ||
      !configure_pss(pctx, alg_))
    return fail("OpenSSL sign init failed");
  std::size_t len = 0;
  auto in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1)
    return fail("OpenSSL sign failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     input.size()) != 1)
    return fail("OpenSSL sign failed");
  sig.resize(len);
  if (kty_ != Kty::kEC) return sig;
  // DER ECDSA-Sig-Value -> fixed-width R || S (RFC 7518 §3.4).
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> es(d2i_ECDSA_SIG(nullptr, &p, long(sig.size())));
  if (!es) return fail("OpenSSL produced an unparsable ECDSA signature");
  std::size_t n = curve_by_alg(alg_)->coord_bytes;
  return bn_to_bytes(ECDSA_SIG_get0_r(es.get()), n) + bn_to_bytes(ECDSA_SIG_get0_s(es.get()), n);
}

bool Key::verify(std::string_view input, std::string_view signature) const {
  if (kty_ == Kty::kOct) {
    if (signature.size() != 32) return false;  // no truncated tags in JWS
    std::string mac = hmac_sha256(secret_, input);
    return CRYPTO_memcmp(mac.data(), signature.data(), 32) == 0;
  }
  std::string der;
  if (kty_ == Kty::kEC) {
    std::size_t n = curve_by_alg(alg_)->coord_bytes;
    if (signature.size() != 2 * n) return false;
    std::unique_ptr<ECDSA_SIG, EcdsaSigFree> es(ECDSA_SIG_new());
    BIGNUM* r =
        BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), int(n), nullptr);
    BIGNUM* s =
        BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data() + n), int(n), nullptr);
    if (!es || !r || !s || ECDSA_SIG_set0(es.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    int len = i2d_ECDSA_SIG(es.get(), nullptr);
    if (len <= 0) return false;
    der.resize(std::size_t(len));
    unsigned char* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_ECDSA_SIG(es.get(), &out);
    signature = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, digest_of(alg_), nullptr, pkey_.get()) != 1 ||
      !configure_pss(pctx, alg_))
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

}  // namespace bastion::auth
