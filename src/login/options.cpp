#include "login/options.hpp"

#include <stdexcept>

#include "storage/private_file.hpp"

namespace bastion::login {

namespace json = boost::json;

namespace {

[[noreturn]] void bad(const std::string& at, std::string_view what) {
  throw std::invalid_argument(at + ": " + std::string(what));
}

std::int64_t get_int(const json::value& v, const std::string& at, std::int64_t min,
                     std::int64_t max) {
  if (!v.is_int64() && !v.is_uint64()) bad(at, "expected an integer");
  std::int64_t n = v.is_int64() ? v.get_int64() : static_cast<std::int64_t>(v.get_uint64());
  if (n < min) bad(at, "must be at least " + std::to_string(min));
  if (n > max) bad(at, "must be at most " + std::to_string(max));
  return n;
}

std::string get_string(const json::value& v, const std::string& at) {
  if (!v.is_string()) bad(at, "expected a string");
  return std::string(v.get_string());
}

bool loopback_http(const std::string& url) {
  for (const char* p : {"http://127.0.0.1:", "http://127.0.0.1/",
                        "http://localhost:", "http://localhost/", "http://[::1]:", "http://[::1]/"})
    if (url.rfind(p, 0) == 0) return true;
  return false;
}

ProviderOptions provider_from_json(const json::value& v, const std::string& at) {
  if (!v.is_object())
    bad(at, "expected a mapping (name, issuer, client_id, client_secret_file, ...)");
  ProviderOptions p;
  std::string secret_file;
  for (const auto& [k, x] : v.get_object()) {
    std::string kat = at + "." + std::string(k);
    if (k == "name") {
      p.name = get_string(x, kat);
    } else if (k == "display_name") {
      p.display_name = get_string(x, kat);
    } else if (k == "issuer") {
      p.issuer = get_string(x, kat);
    } else if (k == "client_id") {
      p.client_id = get_string(x, kat);
    } else if (k == "client_secret_file") {
      secret_file = get_string(x, kat);
    } else if (k == "scopes") {
      if (!x.is_array()) bad(kat, "expected a list of scopes");
      p.scopes.clear();
      for (const auto& s : x.get_array()) p.scopes.push_back(get_string(s, kat));
    } else if (k == "groups_claim") {
      p.groups_claim = get_string(x, kat);
    } else if (k == "groups") {
      if (!x.is_object()) bad(kat, "expected a mapping of claim value to Bastion group");
      for (const auto& [from, to] : x.get_object())
        p.groups[std::string(from)] = get_string(to, kat + "." + std::string(from));
    } else if (k == "ca_file") {
      p.ca_file = get_string(x, kat);
    } else {
      bad(kat,
          "unknown key (name, display_name, issuer, client_id, client_secret_file, scopes, "
          "groups_claim, groups, ca_file)");
    }
  }
  if (p.name.empty() || p.name.size() > 32) bad(at + ".name", "1-32 characters are required");
  for (char c : p.name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      bad(at + ".name", "lowercase letters, digits, '-' and '_' only");
  if (p.display_name.empty()) p.display_name = p.name;
  if (p.issuer.rfind("https://", 0) != 0 && !loopback_http(p.issuer))
    bad(at + ".issuer", "must be an https URL (http only on a loopback address)");
  while (!p.issuer.empty() && p.issuer.back() == '/') p.issuer.pop_back();
  if (p.client_id.empty()) bad(at + ".client_id", "is required");
  if (secret_file.empty()) bad(at + ".client_secret_file", "is required");
  auto secret = storage::read_first_line(secret_file);
  if (!secret || secret->empty()) bad(at + ".client_secret_file", "cannot read " + secret_file);
  p.client_secret = std::move(*secret);
  bool openid = false;
  for (const auto& s : p.scopes) openid = openid || s == "openid";
  if (!openid) p.scopes.insert(p.scopes.begin(), "openid");
  return p;
}

}  // namespace

LoginOptions login_options_from_json(const json::value& v) {
  LoginOptions o;
  if (v.is_null()) return o;
  if (!v.is_object()) bad("login", "expected a mapping");
  for (const auto& [k, x] : v.get_object()) {
    std::string at = "login." + std::string(k);
    if (k == "session_lifetime") {
      o.session_lifetime = std::chrono::seconds(get_int(x, at, 60, 30 * 86400));
    } else if (k == "remember_consent") {
      o.remember_consent = std::chrono::seconds(get_int(x, at, 0, 400 * 86400));
    } else if (k == "local_users") {
      if (!x.is_bool()) bad(at, "expected true or false");
      o.local_users = x.get_bool();
    } else if (k == "throttle") {
      if (!x.is_object()) bad(at, "expected a mapping (per_user, per_source, window)");
      for (const auto& [tk, tv] : x.get_object()) {
        std::string tat = at + "." + std::string(tk);
        if (tk == "per_user")
          o.throttle.per_user = static_cast<int>(get_int(tv, tat, 1, 1000));
        else if (tk == "per_source")
          o.throttle.per_source = static_cast<int>(get_int(tv, tat, 1, 100000));
        else if (tk == "window")
          o.throttle.window = get_int(tv, tat, 1, 86400);
        else
          bad(tat, "unknown key (per_user, per_source, window)");
      }
    } else if (k == "providers") {
      if (!x.is_array()) bad(at, "expected a list of OpenID Connect providers");
      std::size_t i = 0;
      for (const auto& p : x.get_array()) {
        auto po = provider_from_json(p, at + "[" + std::to_string(i++) + "]");
        for (const auto& prev : o.providers)
          if (prev.name == po.name) bad(at, "duplicate provider name '" + po.name + "'");
        o.providers.push_back(std::move(po));
      }
    } else {
      bad(at, "unknown key (session_lifetime, remember_consent, local_users, throttle, providers)");
    }
  }
  if (!o.local_users && o.providers.empty())
    bad("login.local_users", "false needs at least one provider, or nobody can sign in");
  return o;
}

}  // namespace bastion::login
