// Server-rendered pages in one look, with the headers that keep them safe:
// the sign-in pages (login, consent, error, signed in, account) today, the
// operator console later. No script at all, no external asset: the
// stylesheet is compiled in and served by whoever mounts the pages.
//
//   web::Document doc{.title = "Sign in",
//                     .stylesheet = issuer + "/signin/assets/bastion.css",
//                     .body = web::card("Sign in to Bastion", form)};
//   return web::html_response(req.version(), http::status::ok, doc, {.form_targets = {...}});
//
// Every page response carries:
//   Content-Security-Policy: default-src 'none'; style-src <stylesheet>;
//     img-src data:; form-action 'self' <form_targets>; frame-ancestors 'none';
//     base-uri 'none'
//     (no script source at all, so an injected <script> cannot run)
//   X-Frame-Options: DENY (older browsers), X-Content-Type-Options: nosniff,
//   Referrer-Policy: no-referrer (no pending id or code leaks to another
//   site), Cache-Control: no-store (a back button or a shared proxy never
//   shows another user's page), Cross-Origin-Opener-Policy: same-origin,
//   Cross-Origin-Resource-Policy: same-origin, Permissions-Policy (nothing).
// form_targets: Chrome applies form-action to the redirects that follow a
// form post, so a form whose answer is a 302 to a client's redirect URI (or
// to an identity provider) must name that origin.
//
// Accessibility: <html lang>, one <h1> per page, labels tied to every input,
// a visible focus ring, contrast above WCAG AA in light and dark schemes,
// 44 px touch targets, and a layout that fits a 320 px screen.
//
// Thread-safety: values and free functions only; reentrant.
#pragma once

#include <boost/beast/http.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "web/html.hpp"

namespace bastion::web {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct Document {
  std::string title;       // <title>: "<title> · Bastion"
  std::string stylesheet;  // absolute URL of stylesheet() as the caller serves it
  Html body;               // inside <main>
  std::string lang = "en";
  // Small print under the card ("Signed in as alice · Sign out" ...).
  Html footer;
};

struct PageSecurity {
  // Where forms on the page may post, or be redirected to after a post,
  // besides the page's own origin: origins ("https://claude.ai") or schemes
  // ("cursor:").
  std::vector<std::string> form_targets;
};

// The whole document.
Html render(const Document& doc);
// The Content-Security-Policy value for a page.
std::string content_security_policy(const Document& doc, const PageSecurity& sec);
// Sets the security headers listed above on `res` (any response of ours:
// pages, redirects, errors).
void set_security_headers(Response& res, const std::string& csp);
// A page response: text/html; charset=utf-8 with the headers above.
Response html_response(unsigned version, http::status status, const Document& doc,
                       const PageSecurity& sec = {});
// A 303 See Other to `location` (an absolute URL of ours) with the same
// headers (Post/Redirect/Get after a form).
Response see_other(unsigned version, std::string_view location);

// The stylesheet, and its response (text/css, cacheable for a day, nosniff).
std::string_view stylesheet();
Response stylesheet_response(unsigned version);

// Building blocks, all returning Html.
// A card with a heading (the page's <h1>) and content.
Html card(std::string_view heading, const Html& content);
// A notice box: kind is "error", "warning", "info" or "success". role=alert
// for errors so screen readers announce them.
Html notice(std::string_view kind, const Html& content);
// A complete message page (error, signed in): heading, text, optional extra.
Document message_page(std::string title, std::string_view stylesheet_url, std::string_view kind,
                      std::string_view heading, std::string_view text, const Html& extra = {});

}  // namespace bastion::web
