#include "auth/redirect_uri.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <boost/algorithm/string/case_conv.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <cctype>

#include "auth/jwk.hpp"

namespace bastion::auth {

namespace {

constexpr std::size_t kMaxRedirectUriBytes = 2000;

// Schemes that make a browser run code, read local files or open other
// protocols: never a redirect target, whatever a client registers.
constexpr std::array<std::string_view, 12> kForbiddenSchemes = {
    "javascript", "data",        "file", "blob", "filesystem", "vbscript",
    "about",      "view-source", "ws",   "wss",  "ftp",        "chrome"};

}  // namespace

bool is_loopback_host(std::string_view host) {
  std::string h = boost::algorithm::to_lower_copy(std::string(host));
  return h == "127.0.0.1" || h == "[::1]" || h == "localhost";
}

bool loopback_http_url(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || u->scheme() != "http") return false;
  std::string host(u->encoded_host());
  if (host == "localhost" || host == "[::1]") return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

Result<RedirectUri> check_redirect_uri(std::string_view uri, bool web) {
  if (uri.empty()) return fail("redirect URI is empty");
  if (uri.size() > kMaxRedirectUriBytes) return fail("redirect URI is longer than 2000 characters");
  for (unsigned char c : uri)
    if (c <= 0x20 || c >= 0x7f) return fail("redirect URI has spaces or non-ASCII characters");
  auto u = boost::urls::parse_uri(uri);
  if (!u) return fail("redirect URI '" + std::string(uri) + "' is not an absolute URI");
  if (u->has_fragment()) return fail("redirect URI must not have a fragment (RFC 6749 §3.1.2)");
  if (u->has_userinfo()) return fail("redirect URI must not have a user name or password");
  std::string scheme = boost::algorithm::to_lower_copy(std::string(u->scheme()));
  std::string host = boost::algorithm::to_lower_copy(std::string(u->encoded_host()));
  if (scheme == "https") {
    if (host.empty()) return fail("https redirect URI has no host");
    return RedirectUri{RedirectKind::kHttps, host};
  }
  if (scheme == "http") {
    if (!is_loopback_host(host))
      return fail(
          "http redirect URIs are allowed only for loopback (127.0.0.1, [::1], localhost); "
          "use https");
    if (web)
      return fail(
          "a web application (application_type web) may not redirect to loopback; "
          "register it as application_type native");
    return RedirectUri{RedirectKind::kLoopback, host};
  }
  if (std::find(kForbiddenSchemes.begin(), kForbiddenSchemes.end(), scheme) !=
      kForbiddenSchemes.end())
    return fail("redirect URI scheme '" + scheme + "' is not allowed");
  if (web)
    return fail("a web application (application_type web) may not use the private-use scheme '" +
                scheme + "'; register it as application_type native");
  return RedirectUri{RedirectKind::kPrivateUse, scheme + ":"};
}

bool redirect_uri_matches(std::string_view registered, std::string_view requested) {
  if (registered == requested) return true;
  auto r = boost::urls::parse_uri(registered);
  auto q = boost::urls::parse_uri(requested);
  if (!r || !q) return false;
  // Only loopback http gets the any-port rule; everything else is exact.
  if (r->scheme() != "http" || q->scheme() != "http") return false;
  if (!is_loopback_host(r->encoded_host())) return false;
  if (r->has_userinfo() || q->has_userinfo() || r->has_fragment() || q->has_fragment())
    return false;
  // The same host literal (localhost does not match 127.0.0.1), path and query.
  return r->encoded_host() == q->encoded_host() && r->encoded_path() == q->encoded_path() &&
         r->has_query() == q->has_query() && r->encoded_query() == q->encoded_query() &&
         (!q->has_port() || !q->port().empty());
}

bool valid_code_verifier(std::string_view v) {
  if (v.size() < 43 || v.size() > 128) return false;
  return std::all_of(v.begin(), v.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
  });
}

bool valid_s256_challenge(std::string_view c) {
  return c.size() == 43 && b64url_decode(c).has_value();
}

std::string pkce_s256(std::string_view verifier) { return b64url_encode(sha256(verifier)); }

bool pkce_s256_matches(std::string_view verifier, std::string_view challenge) {
  if (!valid_code_verifier(verifier) || !valid_s256_challenge(challenge)) return false;
  std::string computed = pkce_s256(verifier);
  return computed.size() == challenge.size() &&
         CRYPTO_memcmp(computed.data(), challenge.data(), computed.size()) == 0;
}

}  // namespace bastion::auth
