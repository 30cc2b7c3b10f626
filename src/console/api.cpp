// The console's JSON admin API (docs/admin-api.md): what each GET returns and
// what each POST does. Authentication, CSRF and roles are checked before
// these run (console.cpp).
#include <fmt/format.h>

#include <chrono>

#include "audit/reader.hpp"
#include "audit/verify.hpp"
#include "console/audit_query.hpp"
#include "console/console.hpp"
#include "console/redact.hpp"
#include "gateway/stderr_tail.hpp"
#include "metrics/metrics.hpp"
#include "protocol/printable.hpp"
#include "protocol/url_display.hpp"
#include "security/redact.hpp"
#include "web/csrf.hpp"

namespace bastion::console {

std::string csrf_for(const web::SecretKey& key, std::string_view session);

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxExportRecords = 100000;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string scrub(std::string_view s) { return security::Redactor::global().redact(s); }

json::array names(const gateway::Upstream& u, server::Kind k) {
  json::array a;
  for (const auto& e : u.catalogue(k)) a.emplace_back(e.exposed);
  return a;
}

std::string_view kind_name(server::Kind k) {
  switch (k) {
    case server::Kind::kTool:
      return "tool";
    case server::Kind::kPrompt:
      return "prompt";
    case server::Kind::kResource:
      return "resource";
    case server::Kind::kResourceTemplate:
      return "resource_template";
  }
  return "tool";
}

}  // namespace

json::object Console::overview() {
  history_.add(now_ms(), read_figures(metrics::Metrics::global().render()));
  json::object out = history_.to_json();
  json::array servers;
  if (s_.gateway)
    for (auto& u : s_.gateway->upstreams())
      servers.push_back(json::object{{"name", u->name()},
                                     {"state", gateway::to_string(u->state())},
                                     {"restarts", u->restarts()}});
  out["servers"] = std::move(servers);
  out["audit_available"] = s_.audit ? s_.audit->available() : false;
  return out;
}

json::array Console::servers() {
  json::array out;
  if (!s_.gateway) return out;
  for (auto& u : s_.gateway->upstreams()) {
    const auto& o = u->options();
    json::array errors;
    for (const auto& e : u->errors())
      errors.push_back(
          json::object{{"at", e.at}, {"what", scrub(protocol::printable(e.what, 500))}});
    json::array tail;
    for (const auto& l : gateway::stderr_tail(u->name())) tail.emplace_back(scrub(l));
    json::array command;
    for (const auto& c : o.command) command.emplace_back(scrub(c));
    const auto& lim = o.sandbox.limits;
    out.push_back(
        json::object{{"name", u->name()},
                     {"prefix", o.prefix},
                     {"state", gateway::to_string(u->state())},
                     {"restarts", u->restarts()},
                     {"last_error", scrub(protocol::printable(u->last_error(), 500))},
                     {"errors", std::move(errors)},
                     {"stderr_tail", std::move(tail)},
                     {"runtime", o.url.empty() ? std::string(sandbox::to_string(o.sandbox.runtime))
                                               : std::string("http")},
                     {"command", std::move(command)},
                     {"url", o.url.empty() ? std::string() : scrub(protocol::display_url(o.url))},
                     {"per_session", o.per_session},
                     {"eager", o.eager},
                     {"pinning", o.pinning == gateway::PinMode::kEnforce ? "enforce"
                                 : o.pinning == gateway::PinMode::kWarn  ? "warn"
                                                                         : "off"},
                     {"limits", json::object{{"memory_bytes", lim.memory_bytes},
                                             {"cpu_seconds", lim.cpu_seconds},
                                             {"max_pids", lim.max_pids},
                                             {"open_files", lim.open_files},
                                             {"network", o.sandbox.network},
                                             {"call_timeout_ms", o.call_timeout.count()}}},
                     {"tools", names(*u, server::Kind::kTool)},
                     {"prompts", names(*u, server::Kind::kPrompt)},
                     {"resources", names(*u, server::Kind::kResource)},
                     {"resource_templates", names(*u, server::Kind::kResourceTemplate)}});
  }
  return out;
}

json::object Console::tools() {
  json::array items;
  if (s_.pins)
    for (auto& i : s_.pins->items()) {
      json::object r = i.record;
      r["server"] = i.server;
      bool pending = r.contains("pending") && r.at("pending").is_object();
      bool pinned = r.contains("pinned") && r.at("pinned").is_object();
      r["state"] = pending ? "quarantined" : pinned ? "pinned" : "rejected";
      items.push_back(std::move(r));
    }
  json::array served;
  if (s_.gateway)
    for (auto& u : s_.gateway->upstreams())
      for (auto k : {server::Kind::kTool, server::Kind::kPrompt, server::Kind::kResourceTemplate})
        for (const auto& e : u->catalogue(k))
          served.push_back(json::object{{"server", u->name()},
                                        {"kind", kind_name(k)},
                                        {"name", e.exposed},
                                        {"original", e.original}});
  return json::object{{"items", std::move(items)}, {"served", std::move(served)}};
}

json::object Console::clients() {
  json::array configured, managed, grants;
  if (s_.auth) {
    auto& mc = s_.auth->managed_clients();
    for (const auto& c : s_.auth->clients()->all()) {
      json::array scopes;
      for (const auto& x : c.scopes) scopes.emplace_back(x);
      configured.push_back(json::object{{"client_id", c.id},
                                        {"scopes", std::move(scopes)},
                                        {"grant_types", json::value_from(c.grant_types)},
                                        {"revoked", mc.revoked(c.id)}});
    }
    for (auto& r : mc.list()) managed.push_back(std::move(r));
    for (auto& r : s_.auth->signin().registered_clients()) {
      r["revoked"] = mc.revoked(str(r, "client_id"));
      managed.push_back(json::object{{"registered", std::move(r)}});
    }
    for (const auto& g : s_.auth->signin().grants()) {
      if (g.revoked) continue;
      grants.push_back(json::object{{"client_id", g.client_id},
                                    {"subject", g.subject},
                                    {"scopes", json::value_from(g.scopes)},
                                    {"created", g.created},
                                    {"expires", g.expires}});
    }
  }
  return json::object{
      {"configured", std::move(configured)}, {"managed", std::move(managed)}, {"grants", grants}};
}

Response Console::audit_list(const Request& req) {
  auto q = parse_audit_query(req.target());
  if (auto* e = std::get_if<std::string>(&q))
    return json_error(req.version(), http::status::bad_request, "bad_query", *e);
  if (!s_.audit)
    return json_response(req.version(), http::status::ok, json::object{{"records", json::array{}}});
  const auto& query = std::get<AuditQuery>(q);
  auto recs = audit::read_audit_records(s_.audit->options().dir, query.before, query.limit,
                                        [&](const json::object& r) { return query.matches(r); });
  json::array out;
  std::uint64_t oldest = 0;
  for (auto& r : recs) {
    if (auto* s = r.if_contains("seq"); s && s->is_number()) oldest = s->to_number<std::uint64_t>();
    out.push_back(std::move(r));
  }
  // A full page may have older records behind it (asked before `out` is moved).
  bool full = out.size() == query.limit;
  json::object body{{"records", std::move(out)}};
  if (full && oldest > 1) body["next_before"] = oldest;
  return json_response(req.version(), http::status::ok, body);
}

Response Console::audit_export(const Request& req) {
  auto q = parse_audit_query(req.target());
  if (auto* e = std::get_if<std::string>(&q))
    return json_error(req.version(), http::status::bad_request, "bad_query", *e);
  const auto& query = std::get<AuditQuery>(q);
  std::string body;
  std::size_t n = 0;
  if (s_.audit)
    audit::for_each_audit_record(s_.audit->options().dir, [&](const json::object& r) {
      if (n >= kMaxExportRecords || !query.matches(r)) return;
      if (query.before) {
        auto* s = r.if_contains("seq");
        if (!s || !s->is_number() || s->to_number<std::uint64_t>() >= query.before) return;
      }
      body += json::serialize(r);
      body += '\n';
      ++n;
    });
  Response res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/x-ndjson");
  web::set_security_headers(res, "default-src 'none'; frame-ancestors 'none'");
  res.set(http::field::content_disposition, "attachment; filename=\"bastion-audit.ndjson\"");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

json::object Console::audit_verify() {
  if (!s_.audit) return json::object{{"enabled", false}};
  std::lock_guard lk(verify_mu_);
  std::int64_t now = now_ms();
  if (now - verified_at_ < 5000 && !verified_.empty()) return verified_;
  s_.audit->checkpoint();  // so the newest records are covered by a signature
  auto dir = s_.audit->options().dir;
  auto files = audit::audit_files(dir);
  audit::VerifyOptions vo;
  vo.fingerprint = s_.audit->fingerprint();
  if (!files.empty() && files.back().filename() == "audit.log")
    vo.head_file = dir / "audit.log.head";
  auto rep = audit::verify_audit(files, vo);
  json::object out{{"enabled", true},
                   {"ok", rep.ok()},
                   {"records", rep.records},
                   {"first_seq", rep.first_seq},
                   {"last_seq", rep.last_seq},
                   {"checkpoints", rep.checkpoints},
                   {"last_checkpoint_seq", rep.last_checkpoint_seq},
                   {"fingerprint", rep.fingerprint},
                   {"unsigned_records", rep.unsigned_records},
                   {"checked_at", now}};
  if (rep.head) out["head"] = json::object{{"seq", rep.head->seq}, {"ts", rep.head->ts}};
  if (rep.problem)
    out["problem"] = json::object{{"file", rep.problem->file},
                                  {"line", rep.problem->line},
                                  {"seq", rep.problem->seq},
                                  {"what", rep.problem->what}};
  verified_ = out;
  verified_at_ = now;
  return out;
}

Response Console::api_get(const Request& req, const Caller& who, std::string_view what) {
  auto v = req.version();
  auto q = what.find('?');
  if (q != std::string_view::npos) what = what.substr(0, q);
  if (what == "session")
    return json_response(v, http::status::ok,
                         json::object{{"user", who.subject},
                                      {"name", who.display_name},
                                      {"role", to_string(who.role)},
                                      {"csrf", csrf_for(s_.login->csrf_key(), who.session_id)},
                                      // For the sign-in pages' own sign-out form.
                                      {"logout_csrf", web::csrf_token(s_.login->csrf_key(),
                                                                      who.session_id, "logout")},
                                      {"path", options_.path}});
  if (what == "overview") return json_response(v, http::status::ok, overview());
  if (what == "servers") return json_response(v, http::status::ok, servers());
  if (what == "tools") return json_response(v, http::status::ok, tools());
  if (what == "clients") return json_response(v, http::status::ok, clients());
  if (what == "audit") return audit_list(req);
  if (what == "audit/verify") return json_response(v, http::status::ok, audit_verify());
  if (what == "audit/export") {
    // Reading the whole log out is worth a record of its own.
    Response res = audit_export(req);
    record(who, "audit_export", {{"query", std::string(req.target().substr(0, 500))}},
           res.result() == http::status::ok ? "ok" : "bad query");
    return res;
  }
  if (what == "config")
    return json_response(v, http::status::ok,
                         s_.config ? redact_config(s_.config(), scrub) : json::value(nullptr));
  return json_error(v, http::status::not_found, "not_found");
}

Response Console::api_post(const Request& req, const Caller& who, std::string_view what,
                           const json::object& body) {
  auto v = req.version();
  auto bad = [&](std::string_view why) {
    return json_error(v, http::status::bad_request, "bad_request", why);
  };
  if (what == "servers/restart" || what == "servers/stop") {
    std::string name = str(body, "server");
    bool restart = what == "servers/restart";
    if (name.empty() || !s_.gateway) return bad("server is required");
    bool ok = restart ? s_.gateway->restart_server(name) : s_.gateway->stop_server(name);
    record(who, restart ? "server_restart" : "server_stop", {{"server", name}},
           ok ? "ok" : "unknown server");
    if (!ok) return json_error(v, http::status::not_found, "not_found", "no such server");
    return json_response(v, http::status::ok, json::object{{"ok", true}});
  }
  if (what == "tools/approve" || what == "tools/reject") {
    bool approve = what == "tools/approve";
    std::string server = str(body, "server"), name = str(body, "name"), hash = str(body, "hash");
    if (!s_.pins) return json_error(v, http::status::conflict, "no_pins", "pinning is off");
    if (server.empty() || name.empty() || hash.empty())
      return bad("server, name and hash (of the reviewed change) are required");
    std::string actor = "console:" + who.subject;
    auto d = approve ? s_.pins->approve(server, name, hash, actor)
                     : s_.pins->reject(server, name, hash, actor);
    json::object detail{{"server", server}, {"tool", name}, {"hash", hash}};
    if (!d.error.empty()) {
      record(who, approve ? "tool_approve" : "tool_reject", detail, d.error);
      return json_error(v, http::status::conflict, "not_decided", d.error);
    }
    // The pin store's own events (pin_approved / pin_rejected) carry the decision.
    if (s_.audit)
      for (auto& e : d.events) s_.audit->append(std::move(e));
    record(who, approve ? "tool_approve" : "tool_reject", detail, "ok");
    return json_response(v, http::status::ok, json::object{{"ok", true}});
  }
  if (what == "clients/create") {
    if (!s_.auth) return json_error(v, http::status::conflict, "no_auth", "auth is not configured");
    std::string name = str(body, "client_id");
    std::vector<std::string> scopes;
    if (auto* sc = body.if_contains("scopes"); sc && sc->is_array())
      for (const auto& x : sc->get_array())
        if (x.is_string()) scopes.emplace_back(x.get_string());
    if (scopes.empty() || scopes.size() > 32) return bad("1-32 scopes are required");
    auto* as = s_.auth.get();
    auto c = as->managed_clients().create(name, scopes, who.subject, [as](std::string_view id) {
      return as->clients()->find(id) != nullptr || as->signin().client_active(id);
    });
    record(who, "client_create", {{"client_id", name.substr(0, 64)}}, c ? "ok" : c.reason());
    if (!c) return json_error(v, http::status::conflict, "not_created", c.reason());
    return json_response(v, http::status::created,
                         json::object{{"client_id", c->client_id},
                                      {"client_secret", c->secret},
                                      {"scopes", json::value_from(c->scopes)},
                                      {"token_endpoint", as->token_endpoint()}});
  }
  if (what == "clients/revoke") {
    if (!s_.auth) return json_error(v, http::status::conflict, "no_auth", "auth is not configured");
    std::string id = str(body, "client_id");
    if (id.empty() || id.size() > 256) return bad("client_id is required");
    auto* as = s_.auth.get();
    bool known =
        as->clients()->find(id) || as->managed_clients().find(id) || as->signin().client_active(id);
    if (!known) {
      record(who, "client_revoke", {{"client_id", id}}, "unknown client");
      return json_error(v, http::status::not_found, "not_found", "no such client");
    }
    bool ok = as->managed_clients().revoke(id, who.subject);
    // A registered client goes entirely (its refresh tokens with it).
    as->signin().remove_registered_client(id);
    record(who, "client_revoke", {{"client_id", id}}, ok ? "ok" : "not stored");
    if (!ok) return json_error(v, http::status::internal_server_error, "not_revoked");
    return json_response(v, http::status::ok, json::object{{"ok", true}});
  }
  if (what == "config/reload") {
    if (!s_.reload) return json_error(v, http::status::conflict, "no_file", "no file to reload");
    std::string err = s_.reload();
    record(who, "config_reload", {}, err.empty() ? "ok" : err);
    if (!err.empty()) return json_error(v, http::status::unprocessable_entity, "not_reloaded", err);
    return json_response(v, http::status::ok, json::object{{"ok", true}});
  }
  return json_error(v, http::status::not_found, "not_found");
}

}  // namespace bastion::console
