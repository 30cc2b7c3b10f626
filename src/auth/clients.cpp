#include "auth/clients.hpp"

#include <openssl/crypto.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <tuple>

#include "auth/jwk.hpp"
#include "auth/keystore.hpp"

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

namespace {
std::atomic<std::uint64_t> g_verifications{0};
}  // namespace

std::uint64_t secret_verifications() { return g_verifications.load(); }

bool verify_secret(std::string_view hash, std::string_view secret) {
  init_sodium();
  ++g_verifications;
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

namespace {

// The process-wide key of the verified-secret cache (never leaves memory).
const std::string& cache_key() {
  static const std::string k = random_bytes(32);
  return k;
}

struct Argon2Params {
  unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  std::size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  bool operator<(const Argon2Params& o) const {
    return std::tie(ops, mem) < std::tie(o.ops, o.mem);
  }
};

// "$argon2id$v=19$m=65536,t=2,p=1$..." -> {t, m KiB}; defaults when it does not parse
// or asks for more than libsodium allows.
Argon2Params params_of(std::string_view hash) {
  Argon2Params p;
  auto at = hash.find("$m=");
  if (at == std::string_view::npos) return p;
  unsigned long long m = 0, t = 0;
  unsigned p_lanes = 0;
  std::string tail(hash.substr(at + 1));
  if (std::sscanf(tail.c_str(), "m=%llu,t=%llu,p=%u", &m, &t, &p_lanes) != 3) return p;
  if (t < crypto_pwhash_OPSLIMIT_MIN || t > 64 || m * 1024 < crypto_pwhash_MEMLIMIT_MIN ||
      m > (4ull << 20))  // <= 4 GiB
    return p;
  p.ops = t;
  p.mem = static_cast<std::size_t>(m * 1024);
  return p;
}

}  // namespace

const std::string& dummy_hash_like(std::string_view like) {
  static std::mutex mu;
  static std::map<Argon2Params, std::string> made;
  Argon2Params p = params_of(like);
  std::lock_guard lock(mu);
  auto it = made.find(p);
  if (it != made.end()) return it->second;
  init_sodium();
  std::string secret = random_bytes(32);
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, secret.data(), secret.size(), p.ops, p.mem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("argon2id hashing failed (out of memory)");
  return made.emplace(p, out).first->second;
}

ClientRegistry::ClientRegistry(std::vector<ClientConfig> clients,
                               std::unordered_map<std::string, std::int64_t> not_before,
                               const ClientRegistry* previous)
    : clients_(std::move(clients)), not_before_(std::move(not_before)) {
  // Unknown ids cost what the configured clients' hashes cost (the first
  // secret client's parameters: `bastion client add` gives them all the same).
  std::string_view like;
  for (const auto& c : clients_)
    if (!c.secret_hash.empty()) {
      like = c.secret_hash;
      break;
    }
  dummy_ = dummy_hash_like(like);
  if (!previous) return;
  std::lock_guard lock(previous->mu_);
  for (const auto& c : clients_) {
    const ClientConfig* old = previous->find(c.id);
    auto it = previous->verified_.find(c.id);
    if (old && old->secret_hash == c.secret_hash && it != previous->verified_.end())
      verified_.emplace(c.id, it->second);
  }
}

const ClientConfig* ClientRegistry::find(std::string_view id) const {
  for (const auto& c : clients_)
    if (c.id == id) return &c;
  return nullptr;
}

std::int64_t ClientRegistry::not_before(std::string_view id) const {
  auto it = not_before_.find(std::string(id));
  return it == not_before_.end() ? 0 : it->second;
}

const ClientConfig* ClientRegistry::cached(std::string_view id, std::string_view secret) const {
  const ClientConfig* c = find(id);
  if (!c || secret.empty() || secret.size() > 1024) return nullptr;
  std::string tag = hmac_sha256(cache_key(), secret);
  std::lock_guard lock(mu_);
  auto it = verified_.find(c->id);
  if (it != verified_.end() && CRYPTO_memcmp(it->second.data(), tag.data(), tag.size()) == 0)
    return c;
  return nullptr;
}

Result<const ClientConfig*> ClientRegistry::authenticate(std::string_view id,
                                                         std::string_view secret) const {
  // Same checks, same order, same cost whether the id exists or not.
  if (secret.empty() || secret.size() > 1024) return fail("bad client secret");
  if (const ClientConfig* c = cached(id, secret)) return c;
  const ClientConfig* c = find(id);
  bool ok = verify_secret(c ? std::string_view(c->secret_hash) : std::string_view(dummy_), secret);
  if (!c) return fail("unknown client");
  if (!ok) return fail("bad client secret");
  std::string tag = hmac_sha256(cache_key(), secret);
  std::lock_guard lock(mu_);
  verified_[c->id] = tag;
  return c;
}

std::unordered_map<std::string, std::int64_t> update_client_epochs(
    const std::filesystem::path& file, const std::vector<ClientConfig>& clients, std::int64_t now) {
  std::unordered_map<std::string, std::int64_t> out;
  json::object known;
  bool have_file = std::filesystem::exists(file);
  bool corrupt = false;
  if (have_file) {
    auto text = read_private_file(file);
    boost::system::error_code ec;
    json::value v = text ? json::parse(text.value(), ec) : json::value();
    if (text && !ec && v.is_object() && v.as_object().contains("clients") &&
        v.at("clients").is_object()) {
      known = v.at("clients").as_object();
    } else {
      corrupt = true;
      spdlog::warn("auth: {} is unreadable or corrupt; treating every client's secret as new",
                   file.string());
    }
  }
  json::object next;
  for (const auto& c : clients) {
    std::string fp = b64url_encode(sha256(c.secret_hash));
    std::int64_t since = have_file ? now : 0;
    if (!corrupt) {
      if (auto* k = known.if_contains(c.id); k && k->is_object()) {
        auto* f = k->as_object().if_contains("credential");
        auto* t = k->as_object().if_contains("since");
        if (f && f->is_string() && f->get_string() == fp && t && t->is_int64())
          since = t->get_int64();
      }
    }
    out[c.id] = since;
    next[c.id] = json::object{{"credential", fp}, {"since", since}};
  }
  json::object doc{{"clients", std::move(next)}};
  if (!have_file || doc.at("clients") != json::value(known) || corrupt) {
    try {
      write_private_file(file, json::serialize(doc) + "\n");
    } catch (const std::exception& e) {
      spdlog::warn("auth: cannot record client credentials' times in {}: {}", file.string(),
                   e.what());
    }
  }
  return out;
}

}  // namespace bastion::auth
