// What SignIn answers a browser with when it does not hand over to the
// interaction: the self-contained error page (when the client cannot be told
// by redirect) and the redirect back to the client, both never cached.
#include <string>

#include "auth/form.hpp"
#include "auth/signin.hpp"

namespace bastion::auth {

namespace http = signin_http;
using Request = SignIn::Request;
using Response = SignIn::Response;

namespace {

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Response no_store(Response res) {
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::pragma, "no-cache");
  res.set("Referrer-Policy", "no-referrer");
  return res;
}

}  // namespace

Response redirect_response(const Request& req, const std::string& location) {
  // 303 after a POST (RFC 9110 §15.4.4), 302 otherwise.
  Response res{req.method() == http::verb::post ? http::status::see_other : http::status::found,
               req.version()};
  res.set(http::field::location, location);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return no_store(std::move(res));
}

Response render_error_page(const Request& req, http::status status, std::string_view title,
                           std::string_view detail) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set("Content-Security-Policy",
          "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
          "form-action 'none'; base-uri 'none'");
  res.set("X-Frame-Options", "DENY");
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(req.keep_alive());
  res.body() =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      html_escape(title) +
      " - Bastion</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;"
      "margin:4rem auto;padding:0 1rem;color:#1b1f24}h1{font-size:1.4rem}"
      "p{line-height:1.5}.detail{color:#555}</style></head><body><main>"
      "<h1>" +
      html_escape(title) + "</h1><p class=\"detail\">" + html_escape(detail) +
      "</p><p>Nothing was sent to the application. You can close this page.</p>"
      "</main></body></html>";
  res.prepare_payload();
  return no_store(std::move(res));
}

bool redirects_unattended(ClientKind kind) { return kind == ClientKind::kConfigured; }

Response render_refused_request(const Request& req, std::string_view error,
                                std::string_view description) {
  http::status status = error == "temporarily_unavailable" ? http::status::service_unavailable
                        : error == "server_error"          ? http::status::internal_server_error
                                                           : http::status::bad_request;
  return render_error_page(
      req, status, "This sign-in request was refused",
      "Bastion refused the application's sign-in request (" + std::string(error) + ": " +
          std::string(description) +
          "). It does not send you back to the application on its own, because the application "
          "registered itself with this Bastion. If you trust it, tell its developer.");
}

std::string with_query(std::string_view uri,
                       const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out(uri);
  bool has_query = out.find('?') != std::string::npos;
  for (const auto& [k, v] : params) {
    out += has_query ? '&' : '?';
    has_query = true;
    out += form_encode(k) + "=" + form_encode(v);
  }
  return out;
}

}  // namespace bastion::auth
