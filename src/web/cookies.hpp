// Cookies (RFC 6265bis) for server-rendered pages: reading the Cookie header
// and writing Set-Cookie with the attributes a security reviewer expects.
//
//   web::CookiePolicy policy = web::cookie_policy("https://bastion.example.com");
//   res.insert(http::field::set_cookie,
//              web::set_cookie(policy, "session", id, {.same_site = web::SameSite::kLax,
//                                                      .max_age = std::chrono::hours(12)}));
//   auto id = web::get_cookie(req, web::cookie_name(policy, "session"));
//
// Every cookie is HttpOnly (pages have no script that could need it).
// Over https every cookie is Secure and, when the site lives at the root,
// carries the __Host- prefix, which browsers honour only for Secure,
// Path=/ cookies without Domain: a sibling subdomain or a plain-http page
// cannot plant or overwrite it. Over http (loopback development and tests)
// the same names go without the prefix and without Secure.
//
// Thread-safety: values and free functions only; reentrant.
#pragma once

#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bastion::web {

enum class SameSite {
  kStrict,  // never on a request another site started (form posts, assets)
  kLax,     // also on top-level GET navigations from other sites (a client
            // sending the browser to /oauth2/authorize)
};

// Derived once from the public base URL of the site.
struct CookiePolicy {
  bool secure = false;     // https: Secure on every cookie
  bool host_only = false;  // https at the root: the __Host- prefix
  std::string path = "/";  // the base URL's path + "/"
};
// "https://h/x" -> {secure, !host_only, "/x/"}; "http://127.0.0.1:8080" -> {!secure, "/"}.
CookiePolicy cookie_policy(std::string_view base_url);

// The name a cookie really has under `policy` ("__Host-" + name, or name).
std::string cookie_name(const CookiePolicy& policy, std::string_view name);

struct CookieAttributes {
  SameSite same_site = SameSite::kStrict;
  // Persistent for this long; nullopt: a session cookie (gone when the
  // browser closes).
  std::optional<std::chrono::seconds> max_age;
};

// A Set-Cookie value for `name` (the bare name: the policy adds the prefix).
// `value` must be a cookie-octet string (we only ever send base64url).
std::string set_cookie(const CookiePolicy& policy, std::string_view name, std::string_view value,
                       const CookieAttributes& attrs = {});
// A Set-Cookie value that deletes the cookie (empty, Max-Age=0).
std::string clear_cookie(const CookiePolicy& policy, std::string_view name);

// Cookie header pairs, in order, from every Cookie header of the request.
// Malformed pairs are skipped. Values are returned as sent (no decoding).
std::vector<std::pair<std::string, std::string>> parse_cookies(
    const boost::beast::http::request_header<>& req);
// The first cookie named `full_name` (what cookie_name() returns), or
// nullopt. When a name appears twice (a cookie planted for a narrower path
// or by a subdomain), the first is the browser's most specific one; callers
// that need certainty use the __Host- prefix.
std::optional<std::string> get_cookie(const boost::beast::http::request_header<>& req,
                                      std::string_view full_name);

}  // namespace bastion::web
