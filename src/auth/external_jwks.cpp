#include "auth/external_jwks.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "protocol/jsonrpc.hpp"

namespace bastion::auth {

namespace {
const json::string* str_member(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_string() ? &it->value().get_string() : nullptr;
}
}  // namespace

std::vector<std::shared_ptr<const Key>> parse_jwks(const json::value& jwks, std::size_t max_keys) {
  std::vector<std::shared_ptr<const Key>> out;
  if (!jwks.is_object()) return out;
  auto it = jwks.as_object().find("keys");
  if (it == jwks.as_object().end() || !it->value().is_array()) return out;
  for (const auto& k : it->value().get_array()) {
    if (out.size() >= max_keys) break;
    if (!k.is_object()) continue;
    const json::object& o = k.get_object();
    // We select by kid: a key without a usable one (absent, not a string, or
    // empty: found by fuzz/jwk) is unreachable.
    const json::string* kid = str_member(o, "kid");
    if (!kid || kid->empty()) continue;
    std::optional<Alg> hint;
    const json::string* kty = str_member(o, "kty");
    if (!kty || *kty == "oct") continue;  // never trust published symmetric keys
    if (*kty == "RSA" && !o.contains("alg")) hint = Alg::kRS256;
    auto key = Key::from_jwk(o, hint);
    if (!key) {
      spdlog::debug("auth: skipping JWKS key: {}", key.reason());
      continue;
    }
    if (key->has_private()) continue;  // a published private key is a mistake, not a key
    out.push_back(std::make_shared<const Key>(std::move(key.value())));
  }
  return out;
}

ExternalJwks::ExternalJwks(ExternalJwksOptions options, FetchFn fetch, Clock clock)
    : options_(std::move(options)), fetch_(std::move(fetch)), clock_(std::move(clock)) {
  if (options_.background) {
    want_refresh_ = true;
    thread_ = std::thread([this] { run(); });
  }
}

ExternalJwks::~ExternalJwks() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<std::size_t> ExternalJwks::refresh() {
  {
    std::lock_guard lock(mu_);
    last_attempt_ = clock_();
    want_refresh_ = false;
  }
  // No lock while the network is involved: find() keeps answering.
  auto body = fetch_(options_.url);
  if (!body) return fail("JWKS fetch from " + options_.url + " failed: " + body.reason());
  if (body->size() > options_.max_bytes)
    return fail("JWKS from " + options_.url + " is larger than " +
                std::to_string(options_.max_bytes) + " bytes");
  auto parsed = protocol::parse_json(body.value());
  if (const auto* e = parsed ? nullptr : &parsed.error())
    return fail("JWKS from " + options_.url + " is not JSON: " + e->message);
  const json::value& v = parsed.value();
  if (!v.is_object() || !v.as_object().contains("keys") || !v.at("keys").is_array())
    return fail("JWKS from " + options_.url + " has no \"keys\" array");
  auto keys = parse_jwks(v, options_.max_keys);
  std::size_t n = keys.size();
  std::lock_guard lock(mu_);
  keys_ = std::move(keys);
  last_success_ = clock_();
  stale_warned_ = false;
  return n;
}

std::shared_ptr<const Key> ExternalJwks::find(std::string_view kid) {
  std::lock_guard lock(mu_);
  std::int64_t now = clock_();
  if (now - last_success_ <= options_.max_stale.count()) {
    for (const auto& k : keys_)
      if (k->kid() == kid) return k;
  } else if (!keys_.empty() && !stale_warned_) {
    stale_warned_ = true;
    spdlog::warn("auth: the keys of {} were last fetched more than {} s ago; not trusting them",
                 options_.url, options_.max_stale.count());
  }
  want_refresh_ = true;
  cv_.notify_one();
  return nullptr;
}

std::size_t ExternalJwks::size() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

bool ExternalJwks::refresh_pending() const {
  std::lock_guard lock(mu_);
  return want_refresh_;
}

void ExternalJwks::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    std::int64_t since = clock_() - last_attempt_;
    bool periodic = since >= options_.refresh_interval.count();
    if (periodic || (want_refresh_ && since >= options_.min_refresh.count())) {
      lock.unlock();
      auto r = refresh();
      if (!r)
        spdlog::warn("auth: {}", r.reason());
      else
        spdlog::debug("auth: {} usable keys from {}", r.value(), options_.url);
      lock.lock();
      continue;
    }
    // Re-checked at least every second: the clock is injectable and a
    // refresh may become allowed without a notification.
    cv_.wait_for(lock, std::chrono::seconds(1));
  }
}

}  // namespace bastion::auth
