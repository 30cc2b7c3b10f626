#include "auth/keystore.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "storage/private_file.hpp"

namespace bastion::auth {

namespace fs = std::filesystem;

void ensure_private_dir(const fs::path& dir) { storage::ensure_private_dir(dir); }

void write_private_file(const fs::path& file, std::string_view content) {
  storage::write_private_file(file, content);
}

Result<std::string> read_private_file(const fs::path& file) {
  std::string why;
  if (auto text = storage::read_private_file(file, &why)) return std::move(*text);
  return fail(std::move(why));
}

KeyStore::KeyStore(fs::path dir, Alg alg, std::chrono::seconds retention, Clock clock, int rsa_bits)
    : dir_(std::move(dir)),
      alg_(alg),
      retention_(retention),
      clock_(std::move(clock)),
      rsa_bits_(rsa_bits) {
  ensure_private_dir(dir_);
  load();
  auto a = active();
  if (!a) {
    spdlog::info("auth: generating a new {} signing key in {}", alg_name(alg_), dir_.string());
    rotate();
  } else if (a->alg() != alg_) {
    spdlog::info("auth: configured algorithm {} differs from the active key's {}; rotating",
                 alg_name(alg_), alg_name(a->alg()));
    rotate();
  }
  prune();
}

void KeyStore::load() {
  std::vector<KeyInfo> loaded;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("key-", 0) != 0 || entry.path().extension() != ".json") continue;
    auto text = read_private_file(entry.path());
    if (!text) throw std::runtime_error(text.reason());
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text.value(), ec);
    if (ec || !v.is_object() || !v.as_object().contains("jwk"))
      throw std::runtime_error("key file " + entry.path().string() + " is not a Bastion key file");
    const auto& o = v.as_object();
    auto key = Key::from_jwk(o.at("jwk").as_object());
    if (!key) throw std::runtime_error("key file " + entry.path().string() + ": " + key.reason());
    KeyInfo info;
    info.key = std::make_shared<const Key>(std::move(key.value()));
    info.created = o.contains("created") ? o.at("created").to_number<std::int64_t>() : 0;
    info.retired = o.contains("retired") ? o.at("retired").to_number<std::int64_t>() : 0;
    info.file = entry.path();
    loaded.push_back(std::move(info));
  }
  std::sort(loaded.begin(), loaded.end(), [](const KeyInfo& a, const KeyInfo& b) {
    return a.created != b.created ? a.created < b.created : a.file < b.file;
  });
  std::unique_lock lock(mu_);
  keys_ = std::move(loaded);
}

void KeyStore::write(const KeyInfo& info) const {
  boost::json::object o;
  o["created"] = info.created;
  o["retired"] = info.retired;
  o["jwk"] = info.key->private_jwk();
  write_private_file(info.file, boost::json::serialize(o));
}

KeyInfo KeyStore::create_key() {
  KeyInfo info;
  info.key = std::make_shared<const Key>(Key::generate(alg_, rsa_bits_));
  info.created = clock_();
  info.file = dir_ / ("key-" + std::to_string(info.created) + "-" + info.key->kid() + ".json");
  write(info);
  return info;
}

std::shared_ptr<const Key> KeyStore::active() const {
  std::shared_lock lock(mu_);
  for (auto it = keys_.rbegin(); it != keys_.rend(); ++it)
    if (it->retired == 0) return it->key;
  return nullptr;
}

bool KeyStore::expired(const KeyInfo& k, std::int64_t now) const {
  return k.retired != 0 && now >= k.retired + retention_.count();
}

std::shared_ptr<const Key> KeyStore::find(std::string_view kid) const {
  std::int64_t now = clock_();
  auto lookup = [&]() -> std::shared_ptr<const Key> {
    std::shared_lock lock(mu_);
    for (const auto& k : keys_)
      if (k.key->kid() == kid && !expired(k, now)) return k.key;
    return nullptr;
  };
  if (auto k = lookup()) return k;
  // Replicas sharing this directory: another one may have made a key since
  // we loaded. Look at the disk again, at most once a second (unknown kids
  // are attacker-controlled).
  std::int64_t last = last_reload_.load();
  if (now - last < 1 || !last_reload_.compare_exchange_strong(last, now)) return nullptr;
  try {
    const_cast<KeyStore*>(this)->load();
  } catch (const std::exception& e) {
    spdlog::warn("auth: cannot reload keys from {}: {}", dir_.string(), e.what());
    return nullptr;
  }
  return lookup();
}

boost::json::object KeyStore::jwks() const {
  std::int64_t now = clock_();
  boost::json::array arr;
  std::shared_lock lock(mu_);
  // Newest first: clients that take the first key get the active one.
  for (auto it = keys_.rbegin(); it != keys_.rend(); ++it)
    if (!it->key->symmetric() && !expired(*it, now)) arr.push_back(it->key->public_jwk());
  return boost::json::object{{"keys", std::move(arr)}};
}

std::string KeyStore::rotate() {
  KeyInfo fresh = create_key();  // slow for RSA: outside the lock
  std::unique_lock lock(mu_);
  for (auto& k : keys_)
    if (k.retired == 0) {
      k.retired = fresh.created;
      write(k);
    }
  std::string kid = fresh.key->kid();
  spdlog::info("auth: signing key is now {} ({})", kid, alg_name(fresh.key->alg()));
  keys_.push_back(std::move(fresh));
  return kid;
}

std::size_t KeyStore::prune() {
  std::int64_t now = clock_();
  std::unique_lock lock(mu_);
  std::size_t before = keys_.size();
  std::erase_if(keys_, [&](const KeyInfo& k) {
    if (!expired(k, now)) return false;
    std::error_code ec;
    fs::remove(k.file, ec);
    spdlog::info("auth: pruned retired key {}", k.key->kid());
    return true;
  });
  return before - keys_.size();
}

std::vector<KeyInfo> KeyStore::keys() const {
  std::shared_lock lock(mu_);
  return keys_;
}

}  // namespace bastion::auth
