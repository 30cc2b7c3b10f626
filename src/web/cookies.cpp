#include "web/cookies.hpp"

#include <boost/url/parse.hpp>
#include <cassert>

namespace bastion::web {

namespace http = boost::beast::http;

namespace {

// RFC 6265 §4.1.1 cookie-octet: what we accept in a value we write.
bool cookie_octets(std::string_view v) {
  for (unsigned char c : v)
    if (c < 0x21 || c == '"' || c == ',' || c == ';' || c == '\\' || c > 0x7E) return false;
  return true;
}

// RFC 9110 token characters: what a cookie name may contain.
bool token(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v) {
    if (c <= 0x20 || c >= 0x7F) return false;
    if (std::string_view("()<>@,;:\\\"/[]?={}").find(static_cast<char>(c)) !=
        std::string_view::npos)
      return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

CookiePolicy cookie_policy(std::string_view base_url) {
  CookiePolicy p;
  auto u = boost::urls::parse_absolute_uri(base_url);
  if (!u) return p;
  p.secure = u->scheme() == "https";
  std::string path(u->encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  p.path = path + "/";
  p.host_only = p.secure && p.path == "/";
  return p;
}

std::string cookie_name(const CookiePolicy& policy, std::string_view name) {
  return (policy.host_only ? "__Host-" : "") + std::string(name);
}

std::string set_cookie(const CookiePolicy& policy, std::string_view name, std::string_view value,
                       const CookieAttributes& attrs) {
  assert(token(name) && cookie_octets(value));
  std::string s = cookie_name(policy, name) + "=" + std::string(value) + "; Path=" + policy.path;
  if (attrs.max_age) s += "; Max-Age=" + std::to_string(attrs.max_age->count());
  if (policy.secure) s += "; Secure";
  s += "; HttpOnly; SameSite=";
  s += attrs.same_site == SameSite::kStrict ? "Strict" : "Lax";
  return s;
}

std::string clear_cookie(const CookiePolicy& policy, std::string_view name) {
  std::string s = cookie_name(policy, name) + "=; Path=" + policy.path + "; Max-Age=0";
  if (policy.secure) s += "; Secure";
  s += "; HttpOnly; SameSite=Lax";
  return s;
}

std::vector<std::pair<std::string, std::string>> parse_cookies(const http::request_header<>& req) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = req.find(http::field::cookie);
       it != req.end() && it->name() == http::field::cookie; ++it) {
    std::string_view h(it->value().data(), it->value().size());
    while (!h.empty()) {
      auto semi = h.find(';');
      std::string_view pair = trim(h.substr(0, semi));
      h = semi == std::string_view::npos ? std::string_view{} : h.substr(semi + 1);
      auto eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view name = trim(pair.substr(0, eq)), value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      if (!token(name) || !cookie_octets(value)) continue;
      out.emplace_back(name, value);
    }
  }
  return out;
}

std::optional<std::string> get_cookie(const http::request_header<>& req,
                                      std::string_view full_name) {
  for (auto& [k, v] : parse_cookies(req))
    if (k == full_name) return v;
  return std::nullopt;
}

}  // namespace bastion::web
