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

// One context per thread, initialized again for each digest (OpenSSL keeps
// its state block when the digest is the same): a digest allocates nothing.
// The pointer and the flag are trivial, so they outlive the release below;
// a digest on this thread after it (static destruction after a thread-local
// one, e.g. the audit log closing at exit) gets a context of its own.
thread_local EVP_MD_CTX* t_ctx = nullptr;
thread_local bool t_released = false;

struct CtxRelease {
  ~CtxRelease() {
    EVP_MD_CTX_free(t_ctx);
    t_ctx = nullptr;
    t_released = true;
  }
};

EVP_MD_CTX* thread_ctx() {
  if (!t_ctx && !t_released) {
    thread_local CtxRelease release;
    t_ctx = EVP_MD_CTX_new();
  }
  return t_ctx;
}

}  // namespace

Sha256 sha256_of(std::initializer_list<std::string_view> parts) {
  Sha256 out{};
  std::unique_ptr<EVP_MD_CTX, CtxFree> own;
  EVP_MD_CTX* c = thread_ctx();
  if (!c) {
    own.reset(EVP_MD_CTX_new());
    c = own.get();
  }
  if (!c || EVP_DigestInit_ex2(c, sha256_md(), nullptr) != 1) std::abort();
  for (auto p : parts)
    if (EVP_DigestUpdate(c, p.data(), p.size()) != 1) std::abort();
  if (EVP_DigestFinal_ex(c, out.data(), nullptr) != 1) std::abort();
  return out;
}

std::string sha256(std::string_view data) {
  Sha256 d = sha256_of(data);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace bastion::protocol
