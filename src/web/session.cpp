#include "web/session.hpp"

#include "auth/jwk.hpp"

namespace bastion::web {

namespace json = boost::json;

namespace {
constexpr std::size_t kIdBytes = 32;
constexpr std::size_t kIdChars = 43;  // base64url of 32 bytes, no padding
}  // namespace

bool plausible_session_id(std::string_view s) {
  if (s.size() != kIdChars) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return false;
  return true;
}

SessionStore::SessionStore(std::filesystem::path dir, SessionOptions options, auth::Clock clock)
    : options_(options),
      clock_(clock),
      store_(std::move(dir), auth::RecordStoreOptions{.durable = false}, clock) {}

auth::Result<Session> SessionStore::create(json::object data) {
  Session s;
  s.created = clock_();
  s.expires = s.created + options_.lifetime.count();
  s.data = std::move(data);
  json::object rec{{"data", s.data}, {"created", s.created}};
  for (int attempt = 0; attempt < 3; ++attempt) {
    s.id = auth::b64url_encode(auth::random_bytes(kIdBytes));
    auto r = store_.create(s.id, rec, s.expires);
    if (!r) return r.error();
    if (r.value()) return s;
  }
  return auth::fail("cannot create a session: ids keep clashing");
}

std::optional<Session> SessionStore::find(std::string_view id) const {
  if (!plausible_session_id(id)) return std::nullopt;
  auto rec = store_.get(id);
  if (!rec) return std::nullopt;
  Session s;
  s.id = std::string(id);
  if (auto* d = rec->if_contains("data"); d && d->is_object()) s.data = d->get_object();
  if (auto* c = rec->if_contains("created"); c && c->is_int64()) s.created = c->get_int64();
  s.expires = s.created + options_.lifetime.count();
  if (s.expires <= clock_()) return std::nullopt;
  return s;
}

bool SessionStore::set_data(std::string_view id, json::object data) {
  if (!plausible_session_id(id)) return false;
  bool done = false;
  auto r = store_.update(
      id, [&](std::optional<json::object> cur) -> std::optional<auth::RecordStore::Versioned> {
        if (!cur) return std::nullopt;
        std::int64_t created = 0;
        if (auto* c = cur->if_contains("created"); c && c->is_int64()) created = c->get_int64();
        (*cur)["data"] = std::move(data);
        done = true;
        return auth::RecordStore::Versioned{std::move(*cur), created + options_.lifetime.count()};
      });
  return r && done;
}

void SessionStore::destroy(std::string_view id) {
  if (plausible_session_id(id)) store_.remove(id);
}

std::size_t SessionStore::prune() { return store_.prune(); }

}  // namespace bastion::web
