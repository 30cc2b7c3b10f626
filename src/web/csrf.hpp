// Cross-site request forgery defences for form posts, in two layers:
//
// 1. A token in every form, bound to the browser and to what the form does:
//      token = base64url(HMAC-SHA256(key, "bastion-csrf" | purpose | binding))
//    `binding` is a value only this browser holds (its HttpOnly cookie: a
//    sign-in session id, or a pre-login browser cookie), `purpose` names the
//    action and its object ("consent:<pending id>"). A page of another site
//    can neither read the cookie nor compute the token; a token taken from
//    one form does not work for another action or another browser. Tokens
//    are stateless, so every replica that shares the key checks them.
// 2. The request's own word about where it comes from: a post whose
//    Sec-Fetch-Site is cross-site or same-site, or whose Origin is another
//    origin (or "null"), is refused before the token is looked at.
//
//   auto key = web::SecretKey::load_or_create(data_dir / "web.key");
//   web::Html field = web::csrf_field(key, browser_id, "login:" + id);
//   if (!web::same_origin_request(req, issuer) ||
//       !web::csrf_valid(key, browser_id, "login:" + id, form.get("csrf")))
//     return forbidden();
//
// Thread-safety: SecretKey is immutable; the functions are reentrant.
#pragma once

#include <boost/beast/http.hpp>
#include <filesystem>
#include <string>
#include <string_view>

#include "web/html.hpp"

namespace bastion::web {

// 256 random bits shared by the processes of one data directory.
class SecretKey {
 public:
  // Reads `file` (0600, base64url), or creates it when absent: created
  // whole and at most once even when several processes start together
  // (write a temp file, link(2) it). Throws std::runtime_error when the
  // file is unreadable, readable by others, or malformed.
  static SecretKey load_or_create(const std::filesystem::path& file);
  // For tests.
  static SecretKey from_bytes(std::string bytes);

  // HMAC-SHA256 under this key, raw bytes.
  std::string mac(std::string_view data) const;

 private:
  std::string key_;
};

// Name of the hidden form field that carries the token.
inline constexpr std::string_view kCsrfField = "csrf";

std::string csrf_token(const SecretKey& key, std::string_view binding, std::string_view purpose);
// Constant-time check; false for a missing token or an empty binding.
bool csrf_valid(const SecretKey& key, std::string_view binding, std::string_view purpose,
                const std::string* token);
// <input type="hidden" name="csrf" value="...">
Html csrf_field(const SecretKey& key, std::string_view binding, std::string_view purpose);

// Whether a state-changing request comes from a page of `origin` itself
// ("https://host[:port]", as in an issuer URL; a path is ignored):
// Sec-Fetch-Site, when present, is same-origin or none; Origin, when
// present, is exactly `origin`. A request with neither passes (older
// browsers, command-line clients): the token still has to be right.
bool same_origin_request(const boost::beast::http::request_header<>& req, std::string_view origin);

// "https://h:8443/base" -> "https://h:8443" (scheme and host lowercased;
// the default port dropped, as browsers send Origin). Empty when not an
// absolute http(s) URL.
std::string origin_of(std::string_view url);

}  // namespace bastion::web
