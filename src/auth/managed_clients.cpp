#include "auth/managed_clients.hpp"

#include <limits>

namespace bastion::auth {

namespace json = boost::json;

namespace {

constexpr std::int64_t kForever = std::numeric_limits<std::int32_t>::max() * 4LL;

std::vector<std::string> strings(const json::object& o, std::string_view k) {
  std::vector<std::string> out;
  if (auto* v = o.if_contains(k); v && v->is_array())
    for (const auto& x : v->get_array())
      if (x.is_string()) out.emplace_back(x.get_string());
  return out;
}

bool flag(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_bool() && v->get_bool();
}

}  // namespace

ManagedClients::ManagedClients(std::filesystem::path dir, Clock clock, std::chrono::seconds refresh)
    : clock_(std::move(clock)),
      refresh_(refresh),
      store_(std::move(dir), RecordStoreOptions{.durable = true}, clock_) {
  reload_revoked();
}

Result<NewClient> ManagedClients::create(std::string_view name, std::vector<std::string> scopes,
                                         std::string_view actor,
                                         const std::function<bool(std::string_view)>& taken) {
  auto c = create_client(name, std::move(scopes));
  if (!c) return c;
  if (taken && taken(name)) return fail("client '" + std::string(name) + "' exists");
  json::array sc;
  for (const auto& s : c->scopes) sc.emplace_back(s);
  json::object rec{{"client_id", c->client_id}, {"secret_hash", c->secret_hash},
                   {"scopes", std::move(sc)},   {"created", clock_()},
                   {"created_by", actor},       {"revoked", false}};
  auto ok = store_.create(c->client_id, rec, kForever);
  if (!ok) return fail(ok.reason());
  if (!ok.value()) return fail("client '" + std::string(name) + "' exists (or was revoked)");
  return c;
}

std::optional<ClientConfig> ManagedClients::find(std::string_view id) const {
  auto r = store_.get(id);
  if (!r || flag(*r, "revoked")) return std::nullopt;
  auto* h = r->if_contains("secret_hash");
  if (!h || !h->is_string()) return std::nullopt;
  ClientConfig c;
  c.id = std::string(id);
  c.secret_hash = std::string(h->get_string());
  c.scopes = strings(*r, "scopes");
  c.grant_types = {"client_credentials"};
  return c;
}

Result<ClientConfig> ManagedClients::authenticate(std::string_view id,
                                                  std::string_view secret) const {
  auto c = find(id);
  if (!c) return fail("unknown client");
  if (secret.empty() || secret.size() > 1024 || !verify_secret(c->secret_hash, secret))
    return fail("bad client secret");
  return *c;
}

bool ManagedClients::revoke(std::string_view id, std::string_view actor) {
  std::int64_t now = clock_();
  auto r = store_.update(id, [&](std::optional<json::object> cur) {
    json::object rec = cur ? std::move(*cur) : json::object{{"client_id", id}};
    rec["revoked"] = true;
    rec["revoked_at"] = now;
    rec["revoked_by"] = actor;
    rec.erase("secret_hash");  // nothing left to verify against
    return std::optional<RecordStore::Versioned>(RecordStore::Versioned{std::move(rec), kForever});
  });
  if (!r) return false;
  std::unique_lock lock(mu_);
  revoked_.emplace(id);
  return true;
}

void ManagedClients::reload_revoked() const {
  std::set<std::string, std::less<>> next;
  for (const auto& r : store_.list())
    if (flag(r, "revoked"))
      if (auto* id = r.if_contains("client_id"); id && id->is_string())
        next.emplace(id->get_string());
  loaded_at_ = clock_();
  std::unique_lock lock(mu_);
  // Revocation is final: an id revoked here stays revoked even if a listing
  // raced with the write that revoked it.
  for (auto& id : revoked_) next.insert(id);
  revoked_ = std::move(next);
}

bool ManagedClients::revoked(std::string_view id) const {
  // One thread re-reads a stale set; the others use the one they have.
  std::int64_t last = loaded_at_.load(std::memory_order_relaxed);
  std::int64_t now = clock_();
  if (now - last >= refresh_.count() && loaded_at_.compare_exchange_strong(last, now))
    reload_revoked();
  std::shared_lock lock(mu_);
  return revoked_.find(id) != revoked_.end();
}

std::vector<json::object> ManagedClients::list() const {
  std::vector<json::object> out;
  for (auto& r : store_.list()) {
    r.erase("secret_hash");
    r["managed"] = r.contains("created");
    out.push_back(std::move(r));
  }
  auto id = [](const json::object& o) {
    auto* v = o.if_contains("client_id");
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
  };
  std::sort(out.begin(), out.end(),
            [&](const json::object& a, const json::object& b) { return id(a) < id(b); });
  return out;
}

}  // namespace bastion::auth
