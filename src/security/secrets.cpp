#include "security/secrets.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <ctime>
#include <stdexcept>

#include "protocol/iso8601.hpp"
#include "security/keyring.hpp"
#include "storage/private_file.hpp"

namespace bastion::security {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {}  // namespace

SecretStore::SecretStore(fs::path dir, MultiFernet keys)
    : file_(dir / "secrets.json"), keys_(std::move(keys)) {
  std::error_code ec;
  if (!fs::exists(file_, ec)) return;
  std::string why;
  auto text = storage::read_private_file(file_, &why);
  if (!text) throw std::runtime_error("secrets: " + why);
  boost::system::error_code jec;
  auto v = json::parse(*text, jec);
  auto corrupt = [&](std::string_view what) {
    throw std::runtime_error(fmt::format("secrets: {} is corrupt: {}", file_.string(), what));
  };
  if (jec || !v.is_object()) corrupt("not a JSON object");
  auto* s = v.as_object().if_contains("secrets");
  if (!s || !s->is_object()) corrupt("no \"secrets\" object");
  for (const auto& [name, e] : s->get_object()) {
    if (!valid_name(name) || !e.is_object()) corrupt(fmt::format("entry '{}'", std::string(name)));
    auto* tok = e.get_object().if_contains("token");
    auto* upd = e.get_object().if_contains("updated");
    if (!tok || !tok->is_string())
      corrupt(fmt::format("entry '{}' has no token", std::string(name)));
    entries_[std::string(name)] = {std::string(tok->get_string()),
                                   upd && upd->is_string() ? std::string(upd->get_string()) : ""};
  }
}

bool SecretStore::valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

void SecretStore::persist_locked() const {
  json::object secrets;
  for (const auto& [name, e] : entries_)
    secrets[name] = json::object{{"token", e.first}, {"updated", e.second}};
  storage::ensure_private_dir(file_.parent_path());
  storage::write_private_file(
      file_, json::serialize(json::object{{"version", 1}, {"secrets", std::move(secrets)}}) + "\n");
}

void SecretStore::set(std::string_view name, std::string_view value) {
  if (!valid_name(name))
    throw std::invalid_argument(fmt::format(
        "secret name '{}' must be 1-128 characters of letters, digits, '_', '.', '-'", name));
  if (value.empty()) throw std::invalid_argument("the secret value is empty");
  std::lock_guard lock(mu_);
  entries_[std::string(name)] = {keys_.encrypt(value), protocol::iso8601_utc_now()};
  persist_locked();
}

bool SecretStore::remove(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return false;
  entries_.erase(it);
  persist_locked();
  return true;
}

std::optional<std::string> SecretStore::get(std::string_view name) const {
  std::string token;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return std::nullopt;
    token = it->second.first;
  }
  auto v = keys_.decrypt(token);
  if (!v)
    throw std::runtime_error(fmt::format(
        "secret '{}' does not decrypt with any Fernet key ({}): was fernet.keys replaced?", name,
        v.reason()));
  return std::move(v.value());
}

std::vector<std::string> SecretStore::names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [n, e] : entries_) out.push_back(n);
  return out;
}

std::size_t SecretStore::reencrypt() {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (auto& [name, e] : entries_) {
    auto r = keys_.rotate(e.first);
    if (!r)
      throw std::runtime_error(
          fmt::format("secret '{}' does not decrypt with any Fernet key ({})", name, r.reason()));
    e.first = std::move(r.value());
    ++n;
  }
  if (n) persist_locked();
  return n;
}

Rotation rotate_keys_and_secrets(const std::filesystem::path& dir, std::size_t keep) {
  Rotation r{rotate_fernet_keys(dir), 0};
  r.reencrypted = SecretStore(dir, r.ring).reencrypt();
  if (keep > 0 && r.ring.size() > keep) r.ring = trim_fernet_keys(dir, keep);
  return r;
}

}  // namespace bastion::security
