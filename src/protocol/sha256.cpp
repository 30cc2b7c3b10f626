#include "protocol/sha256.hpp"

#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

namespace bastion::protocol {

namespace {

// Fetched once, never freed: the audit log hashes during static destruction,
// after any owner with a destructor would have released it.
const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!m) std::abort();  // the default provider lacks SHA-256: nothing here can work
    return m;
  }();
  return md;
}

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

Sha256 sha256_of(std::initializer_list<std::string_view> parts) {
  Sha256 out{};
  std::unique_ptr<EVP_MD_CTX, CtxFree> c(EVP_MD_CTX_new());
  if (!c || EVP_DigestInit_ex2(c.get(), sha256_md(), nullptr) != 1) std::abort();
  for (auto p : parts)
    if (EVP_DigestUpdate(c.get(), p.data(), p.size()) != 1) std::abort();
  if (EVP_DigestFinal_ex(c.get(), out.data(), nullptr) != 1) std::abort();
  return out;
}

std::string sha256(std::string_view data) {
  Sha256 d = sha256_of(data);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace bastion::protocol
