#include "console/console.hpp"

#include <spdlog/spdlog.h>

#include <array>

#include "console/assets.hpp"
#include "web/csrf.hpp"
#include "protocol/form.hpp"

namespace bastion::console {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 6> kPages = {"overview", "servers", "tools",
                                                    "clients",  "audit",   "config"};
constexpr std::string_view kCsrfPurpose = "console";
constexpr std::size_t kMaxBody = 64 * 1024;

std::string page_csp() {
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size())
    s.replace(p, from.size(), to);
  return s;
}

}  // namespace

Response json_response(unsigned version, http::status status, const json::value& body) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json");
  web::set_security_headers(res, "default-src 'none'; frame-ancestors 'none'");
  res.body() = json::serialize(body);
  res.prepare_payload();
  return res;
}

Response json_error(unsigned version, http::status status, std::string_view error,
                    std::string_view detail) {
  json::object o{{"error", error}};
  if (!detail.empty()) o["detail"] = detail;
  return json_response(version, status, o);
}

Console::Console(ConsoleOptions options, Services services)
    : options_(std::move(options)), s_(std::move(services)), origin_(web::origin_of(s_.issuer)) {
  while (!s_.issuer.empty() && s_.issuer.back() == '/') s_.issuer.pop_back();
}

std::optional<Caller> Console::caller(const Request& req) const {
  auto v = s_.login->visitor(req);
  if (!v) return std::nullopt;
  return Caller{v->subject, v->display_name, v->session_id,
                role_of(options_, v->subject, v->groups)};
}

void Console::record(const Caller& who, std::string_view action, json::object detail,
                     std::string_view outcome) const {
  detail["event_type"] = "console_action";
  detail["action"] = action;
  detail["user_id"] = who.subject;
  detail["role"] = to_string(who.role);
  detail["outcome"] = outcome;
  spdlog::info("console: {} by {}: {}", action, who.subject, outcome);
  if (s_.audit) s_.audit->append(std::move(detail));
}

void Console::refused(const Request& req, const Caller* who, std::string_view why) const {
  auto path = protocol::target_path(req.target());
  json::object e{
      {"event_type", "console_refused"},
      {"method", std::string_view(req.method_string().data(), req.method_string().size())},
      {"path", path.substr(0, 200)},
      {"reason", why}};
  if (who) e["user_id"] = who->subject;
  if (s_.audit) s_.audit->append(std::move(e));
}

std::optional<Response> Console::handle(const Request& req) {
  std::string_view path = protocol::target_path(req.target());
  const std::string& base = options_.path;
  if (path.substr(0, base.size()) != base) return std::nullopt;
  std::string_view rest = path.substr(base.size());
  if (!rest.empty() && rest.front() != '/') return std::nullopt;  // "/consoleX" is not ours
  bool get = req.method() == http::verb::get || req.method() == http::verb::head;

  if (rest.rfind("/api/", 0) == 0) return api(req, rest.substr(5));
  if (rest.rfind("/assets/", 0) == 0) {
    auto a = get ? asset(rest.substr(8)) : std::nullopt;
    if (!a) return json_error(req.version(), http::status::not_found, "not_found");
    Response res{http::status::ok, req.version()};
    res.set(http::field::content_type, a->content_type);
    web::set_security_headers(res, "default-src 'none'; frame-ancestors 'none'");
    res.set(http::field::cache_control, "no-cache");
    res.body() = std::string(a->body);
    res.prepare_payload();
    return res;
  }
  std::string_view name = rest.empty() || rest == "/" ? "overview" : rest.substr(1);
  bool known = false;
  for (auto p : kPages) known = known || p == name;
  if (!known || !get) {
    Response res = json_error(req.version(),
                              known ? http::status::method_not_allowed : http::status::not_found,
                              known ? "method_not_allowed" : "not_found");
    if (known) res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  return page(req, name);
}

Response Console::page(const Request& req, std::string_view name) {
  auto who = caller(req);
  if (!who) {
    Response res{http::status::see_other, req.version()};
    web::set_security_headers(res, page_csp());
    // Back here after the login (login::LoginOptions::return_paths).
    std::string back = options_.path + (name == "overview" ? "" : "/" + std::string(name));
    res.set(http::field::location, s_.issuer + "/signin/login?return=" + back);
    res.prepare_payload();
    return res;
  }
  std::string html = replace_all(std::string(shell_html()), "{{PATH}}", options_.path);
  html = replace_all(std::move(html), "{{PAGE}}", name);
  Response res{who->role == Role::kNone ? http::status::forbidden : http::status::ok,
               req.version()};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  web::set_security_headers(res, page_csp());
  res.body() = std::move(html);
  if (req.method() == http::verb::head) res.body().clear();
  res.prepare_payload();
  return res;
}

Response Console::api(const Request& req, std::string_view what) {
  auto v = req.version();
  auto who = caller(req);
  if (!who) return json_error(v, http::status::unauthorized, "not_signed_in", "sign in first");
  if (who->role == Role::kNone) {
    refused(req, &*who, "no console role");
    return json_error(v, http::status::forbidden, "forbidden", "your account has no console role");
  }
  if (req.method() == http::verb::get) return api_get(req, *who, what);
  if (req.method() != http::verb::post) {
    Response res = json_error(v, http::status::method_not_allowed, "method_not_allowed");
    res.set(http::field::allow, "GET, POST");
    return res;
  }
  // A state change: from our own origin, with the session's token, as JSON.
  auto token = req.find("X-CSRF-Token");
  std::string tok = token == req.end() ? "" : std::string(token->value());
  if (!web::same_origin_request(req, origin_)) {
    refused(req, &*who, "cross-origin request");
    return json_error(v, http::status::forbidden, "cross_origin", "request from another origin");
  }
  if (req.count("X-CSRF-Token") != 1 ||
      !web::csrf_valid(s_.login->csrf_key(), who->session_id, kCsrfPurpose, &tok)) {
    refused(req, &*who, "missing or wrong CSRF token");
    return json_error(v, http::status::forbidden, "csrf", "missing or wrong CSRF token");
  }
  auto ct = req[http::field::content_type];
  if (ct.substr(0, 16) != "application/json")
    return json_error(v, http::status::unsupported_media_type, "unsupported_media_type",
                      "send application/json");
  if (who->role != Role::kAdmin) {
    refused(req, &*who, "viewer may not act");
    return json_error(v, http::status::forbidden, "forbidden", "only an admin may do this");
  }
  if (req.body().size() > kMaxBody)
    return json_error(v, http::status::payload_too_large, "too_large");
  boost::system::error_code ec;
  json::value body = req.body().empty() ? json::value(json::object{}) : json::parse(req.body(), ec);
  if (ec || !body.is_object())
    return json_error(v, http::status::bad_request, "bad_request",
                      "the body must be a JSON object");
  return api_post(req, *who, what, body.get_object());
}

std::string csrf_for(const web::SecretKey& key, std::string_view session) {
  return web::csrf_token(key, session, kCsrfPurpose);
}

}  // namespace bastion::console
