#include "auth/clients.hpp"

#include <openssl/crypto.h>
#include <sodium.h>

#include <cctype>
#include <stdexcept>

#include "auth/jwk.hpp"

namespace bastion::auth {

namespace {
void init_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}
}  // namespace

std::string hash_secret(std::string_view secret) {
  init_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("argon2id hashing failed (out of memory)");
  return out;
}

bool verify_secret(std::string_view hash, std::string_view secret) {
  init_sodium();
  if (hash.rfind("$argon2id$", 0) != 0 || hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string h(hash);  // crypto_pwhash_str_verify wants a NUL-terminated string
  return crypto_pwhash_str_verify(h.c_str(), secret.data(), secret.size()) == 0;
}

bool well_formed_hash(std::string_view hash) {
  init_sodium();
  if (hash.rfind("$argon2id$", 0) != 0 || hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string h(hash);
  return crypto_pwhash_str_needs_rehash(h.c_str(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != -1;
}

json::object NewClient::config_entry() const {
  json::array s;
  for (const auto& x : scopes) s.emplace_back(x);
  return json::object{{"id", client_id}, {"secret_hash", secret_hash}, {"scopes", std::move(s)}};
}

Result<NewClient> create_client(std::string_view name, std::vector<std::string> scopes) {
  if (name.empty() || name.size() > 64) return fail("client name must be 1-64 characters");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return fail("client name may only contain letters, digits, '.', '_' and '-'");
  for (const auto& s : scopes)
    for (char c : s)
      if (c <= 0x20 || c == 0x7f || c == '"' || c == '\\')
        return fail("scope '" + s + "' has characters RFC 6749 §3.3 does not allow");
  NewClient c;
  c.client_id = std::string(name);
  c.secret = b64url_encode(random_bytes(32));
  c.secret_hash = hash_secret(c.secret);
  c.scopes = std::move(scopes);
  return c;
}

ClientRegistry::ClientRegistry(std::vector<ClientConfig> clients)
    : clients_(std::move(clients)), cache_key_(random_bytes(32)) {}

const ClientConfig* ClientRegistry::find(std::string_view id) const {
  for (const auto& c : clients_)
    if (c.id == id) return &c;
  return nullptr;
}

Result<const ClientConfig*> ClientRegistry::authenticate(std::string_view id,
                                                         std::string_view secret) const {
  const ClientConfig* c = find(id);
  if (!c) return fail("unknown client");
  if (secret.empty() || secret.size() > 1024) return fail("bad client secret");
  std::string tag = hmac_sha256(cache_key_, secret);
  {
    std::lock_guard lock(mu_);
    auto it = verified_.find(c->id);
    if (it != verified_.end() && CRYPTO_memcmp(it->second.data(), tag.data(), tag.size()) == 0)
      return c;
  }
  if (!verify_secret(c->secret_hash, secret)) return fail("bad client secret");
  std::lock_guard lock(mu_);
  verified_[c->id] = tag;
  return c;
}

}  // namespace bastion::auth
