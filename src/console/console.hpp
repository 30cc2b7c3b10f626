// The operators' web console: pages served from the binary (assets.cpp) and
// the JSON admin API they use (api.cpp, documented in docs/admin-api.md).
//
//   GET  <path>/, <path>/{servers,tools,clients,audit,config}   the pages (one shell, JS renders)
//   GET  <path>/assets/console.{css,js}                         exact names only
//   GET  <path>/api/...                                         read (viewer or admin)
//   POST <path>/api/...                                         act (admin), JSON body
//
// Who: a user signed in through Bastion's own sign-in pages (the session
// cookie of login/interaction.hpp), with the role console.admins/viewers
// give them (options.hpp). No session: pages redirect to the login page,
// the API answers 401. No role: 403. A viewer's POST: 403.
//
// Every POST must (a) come from the console's own origin (Sec-Fetch-Site /
// Origin, web::same_origin_request), (b) carry the session's CSRF token in
// the X-CSRF-Token header (HMAC bound to the session, web/csrf.hpp), and
// (c) be application/json, which a form of another site cannot send without
// a CORS preflight we never answer. Every action and every refused attempt
// is an audit event (console_action, console_refused).
//
// Pages: CSP default-src 'none' with script, style, connect and img from
// 'self' only (no inline script or style), frame-ancestors 'none', and the
// other headers of web::set_security_headers.
//
// The console is off the MCP hot path: it is one more route the HTTP server
// asks after /mcp (nothing of it runs for a tools/call).
//
// Thread-safety: handle() may be called concurrently.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "audit/log.hpp"
#include "auth/server.hpp"
#include "console/figures.hpp"
#include "console/options.hpp"
#include "gateway/gateway.hpp"
#include "gateway/pin_store.hpp"
#include "login/interaction.hpp"
#include "web/page.hpp"

namespace bastion::console {

using Request = web::Request;
using Response = web::Response;

// What the console looks at and acts on. Any pointer may be null (that part
// of Bastion is not configured); `login` may not.
struct Services {
  std::shared_ptr<login::LoginInteraction> login;
  std::string issuer;  // public base URL (the login page, the origin POSTs must come from)
  std::shared_ptr<gateway::GatewayBackend> gateway;
  std::shared_ptr<gateway::PinStore> pins;
  std::shared_ptr<auth::AuthServer> auth;
  std::shared_ptr<audit::AuditLog> audit;
  // The effective configuration (redacted here), and a reload of the file:
  // "" when done, else why not.
  std::function<boost::json::value()> config;
  std::function<std::string()> reload;
};

// The caller of one request, once authenticated.
struct Caller {
  std::string subject, display_name, session_id;
  Role role = Role::kNone;
};

class Console {
 public:
  Console(ConsoleOptions options, Services services);

  // The response for a path under options.path; nullopt for any other path.
  std::optional<Response> handle(const Request& req);

  const ConsoleOptions& options() const { return options_; }

 private:
  // api.cpp
  Response api_get(const Request& req, const Caller& who, std::string_view what);
  Response api_post(const Request& req, const Caller& who, std::string_view what,
                    const boost::json::object& body);
  boost::json::object overview();
  boost::json::array servers();
  boost::json::object tools();
  boost::json::object clients();
  Response audit_list(const Request& req);
  Response audit_export(const Request& req);
  boost::json::object audit_verify();

  // console.cpp
  std::optional<Caller> caller(const Request& req) const;
  Response page(const Request& req, std::string_view name);
  Response api(const Request& req, std::string_view what);
  void record(const Caller& who, std::string_view action, boost::json::object detail,
              std::string_view outcome) const;
  void refused(const Request& req, const Caller* who, std::string_view why) const;

  ConsoleOptions options_;
  Services s_;
  std::string origin_;
  History history_;
  std::mutex verify_mu_;
  std::int64_t verified_at_ = 0;
  boost::json::object verified_;
};

// JSON responses with the console's headers.
Response json_response(unsigned version, boost::beast::http::status status,
                       const boost::json::value& body);
Response json_error(unsigned version, boost::beast::http::status status, std::string_view error,
                    std::string_view detail = {});

}  // namespace bastion::console
