// SignIn's Dynamic Client Registration (RFC 7591): the registration
// endpoint with its per-source rate limit, and the registered clients an
// operator lists and removes.
#include "auth/signin.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "auth/http_util.hpp"
#include "auth/jwk.hpp"
#include "auth/scopes.hpp"
#include "auth/signin_records.hpp"

namespace bastion::auth {

namespace json = boost::json;
namespace http = signin_http;
using namespace signin_records;

// --- registration (RFC 7591) ----------------------------------------------------------

bool SignIn::registration_rate_ok(std::string_view source) {
  std::lock_guard lock(rate_mu_);
  std::int64_t now = clock_();
  std::size_t limit = options_.registration.per_source_per_hour;
  auto in_window = [&](std::int64_t t) { return t > now - 3600; };
  // Bounded memory under a flood of addresses: a new one pushes out the least
  // recently seen source below its limit; a limited one keeps its count.
  auto& times =
      registrations_.get_or_insert(std::string(source), [&](const std::vector<std::int64_t>& v) {
        return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), in_window)) < limit;
      });
  std::erase_if(times, [&](std::int64_t t) { return !in_window(t); });
  if (times.size() >= limit) return false;
  times.push_back(now);
  return true;
}

void SignIn::registered_client_used(std::string_view client_id) {
  if (!client_id.starts_with(kRegisteredPrefix)) return;
  std::int64_t now = clock_();
  auto r = registered_.get(client_id);
  // The expiry moves in steps of a day: no write for every token.
  if (!r || num(*r, "last_used") > now - 86400) return;
  std::int64_t until =
      now + std::max(options_.registration.idle_lifetime, options_.refresh_idle).count();
  (void)registered_.update(client_id, [&](std::optional<json::object> cur) {
    if (!cur) return std::optional<RecordStore::Versioned>();  // removed meanwhile
    (*cur)["last_used"] = now;
    (*cur)["expires_at"] = until;
    return std::optional<RecordStore::Versioned>(RecordStore::Versioned{std::move(*cur), until});
  });
}

SignIn::Response SignIn::register_client(const Request& req, std::string_view source) {
  auto error = [&](http::status s, std::string code, std::string description) {
    if (hooks_.audit)
      hooks_.audit(json::object{{"event_type", "registration_refused"},
                                {"error", code},
                                {"reason", description},
                                {"source", source}});
    return json_response(
        req, s,
        json::object{{"error", std::move(code)}, {"error_description", std::move(description)}},
        true);
  };
  const auto& ro = options_.registration;
  if (ro.mode == "off")
    return error(http::status::not_found, "invalid_request", "registration is disabled");
  if (req.method() != http::verb::post) return method_not_allowed(req, "POST");
  if (ro.mode == "token") {
    std::string_view h(req[http::field::authorization].data(),
                       req[http::field::authorization].size());
    h = trim(h);
    bool ok = req.count(http::field::authorization) == 1 && h.size() > 7 &&
              iequals(h.substr(0, 7), "Bearer ") && !ro.initial_access_token.empty() &&
              same(sha256(trim(h.substr(7))), sha256(ro.initial_access_token));
    if (!ok) {
      Response r = error(http::status::unauthorized, "invalid_token",
                         "registration needs the initial access token (Authorization: Bearer)");
      r.set(http::field::www_authenticate, "Bearer error=\"invalid_token\"");
      return r;
    }
  }
  std::string_view ct(req[http::field::content_type].data(), req[http::field::content_type].size());
  ct = trim(ct.substr(0, ct.find(';')));
  if (!iequals(ct, "application/json"))
    return error(http::status::bad_request, "invalid_client_metadata",
                 "Content-Type must be application/json");
  if (req.body().size() > ro.max_body_bytes)
    return error(
        http::status::payload_too_large, "invalid_client_metadata",
        "registration request is larger than " + std::to_string(ro.max_body_bytes) + " bytes");
  boost::system::error_code ec;
  json::value doc = json::parse(req.body(), ec);
  if (ec || !doc.is_object())
    return error(http::status::bad_request, "invalid_client_metadata",
                 "the body must be a JSON object");
  auto m = parse_client_metadata(doc.get_object(), MetadataSource::kRegistration);
  if (!m) {
    auto [code, why] = split_metadata_error(m.reason());
    return error(http::status::bad_request, code, why);
  }
  if (!registration_rate_ok(source))
    return error(http::status::too_many_requests, "temporarily_unavailable",
                 "too many registrations from this address; try again later");
  if (registered_.count() >= ro.max_clients)
    return error(http::status::service_unavailable, "temporarily_unavailable",
                 "this Bastion holds as many registered clients as it allows");
  ClientMetadata meta = std::move(m.value());
  meta.client_id = std::string(kRegisteredPrefix) + b64url_encode(random_bytes(16));
  std::string secret;
  if (meta.auth_method == AuthMethod::kSecretBasic || meta.auth_method == AuthMethod::kSecretPost)
    secret = b64url_encode(random_bytes(32));
  std::int64_t now = clock_();
  json::object rec{{"client_id", meta.client_id},
                   {"metadata", meta.to_json()},
                   {"secret_hash", secret.empty() ? "" : "sha256:" + secret_hash(secret)},
                   {"issued_at", now},
                   {"expires_at", now + ro.unused_lifetime.count()},
                   {"registered_from", source}};
  // Unused, it goes after unused_lifetime; each token moves that on
  // (registered_client_used).
  auto ok = registered_.create(meta.client_id, rec, now + ro.unused_lifetime.count());
  if (!ok || !ok.value())
    return error(http::status::internal_server_error, "server_error", "could not store the client");
  spdlog::info("auth: registered client {} (\"{}\") from {}", meta.client_id, meta.client_name,
               source);
  if (hooks_.audit)
    hooks_.audit(json::object{{"event_type", "client_registered"},
                              {"client_id", meta.client_id},
                              {"client_name", meta.client_name},
                              {"source", source}});
  json::object out = meta.to_json();
  out["client_id_issued_at"] = now;
  if (!secret.empty()) {
    out["client_secret"] = secret;
    out["client_secret_expires_at"] = 0;
  }
  return json_response(req, http::status::created, out, true);
}

std::vector<json::object> SignIn::registered_clients() const {
  std::vector<json::object> out;
  for (auto& r : registered_.list()) {
    r.erase("secret_hash");
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const json::object& a, const json::object& b) {
    return num(a, "issued_at") < num(b, "issued_at");
  });
  return out;
}

bool SignIn::remove_registered_client(std::string_view client_id) {
  if (!registered_.remove(client_id)) return false;
  revoke_grants("", client_id);
  if (hooks_.audit)
    hooks_.audit(json::object{{"event_type", "client_removed"}, {"client_id", client_id}});
  return true;
}

void SignIn::prune() {
  pending_.prune();
  codes_.prune();
  families_.prune();
  registered_.prune();
  prune_pending_slots(clock_());
  std::shared_ptr<Interaction> ui;
  {
    std::lock_guard lock(interaction_mu_);
    ui = interaction_;
  }
  if (ui) ui->prune();
}

}  // namespace bastion::auth
