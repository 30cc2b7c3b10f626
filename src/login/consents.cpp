#include "login/consents.hpp"

#include <algorithm>

namespace bastion::login {

namespace json = boost::json;

namespace {

// Subjects and client ids never contain a newline (validated names, URLs).
std::string key_of(std::string_view subject, std::string_view client_id) {
  return std::string(subject) + "\n" + std::string(client_id);
}

std::optional<Consent> consent_from_record(const json::object& r) {
  Consent c;
  auto str = [&](std::string_view k) {
    auto* v = r.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  c.subject = str("subject");
  c.client_id = str("client_id");
  c.client_name = str("client_name");
  c.redirect_host = str("redirect_host");
  if (auto* v = r.if_contains("created"); v && v->is_int64()) c.created = v->get_int64();
  if (auto* v = r.if_contains("expires"); v && v->is_int64()) c.expires = v->get_int64();
  if (auto* v = r.if_contains("scopes"); v && v->is_array())
    for (const auto& s : v->get_array())
      if (s.is_string()) c.scopes.emplace_back(s.get_string());
  if (c.subject.empty() || c.client_id.empty()) return std::nullopt;
  return c;
}

}  // namespace

ConsentStore::ConsentStore(std::filesystem::path dir, auth::Clock clock)
    : clock_(clock), store_(std::move(dir), auth::RecordStoreOptions{.durable = true}, clock) {}

auth::Status ConsentStore::remember(const Consent& c) {
  json::array scopes;
  for (const auto& s : c.scopes) scopes.emplace_back(s);
  json::object rec{{"subject", c.subject},         {"client_id", c.client_id},
                   {"client_name", c.client_name}, {"redirect_host", c.redirect_host},
                   {"scopes", std::move(scopes)},  {"created", c.created},
                   {"expires", c.expires}};
  auto r = store_.update(
      key_of(c.subject, c.client_id),
      [&](std::optional<json::object>) -> std::optional<auth::RecordStore::Versioned> {
        return auth::RecordStore::Versioned{rec, c.expires};
      });
  if (!r) return r.error();
  return auth::ok_status();
}

std::optional<Consent> ConsentStore::find(std::string_view subject,
                                          std::string_view client_id) const {
  auto r = store_.get(key_of(subject, client_id));
  if (!r) return std::nullopt;
  auto c = consent_from_record(*r);
  if (!c || c->subject != subject || c->client_id != client_id) return std::nullopt;
  return c;
}

std::vector<Consent> ConsentStore::of(std::string_view subject) const {
  std::vector<Consent> out;
  for (const auto& r : store_.list())
    if (auto c = consent_from_record(r); c && c->subject == subject) out.push_back(std::move(*c));
  std::sort(out.begin(), out.end(),
            [](const Consent& a, const Consent& b) { return a.created > b.created; });
  return out;
}

bool ConsentStore::forget(std::string_view subject, std::string_view client_id) {
  return store_.remove(key_of(subject, client_id));
}

}  // namespace bastion::login
