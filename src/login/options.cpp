#include "login/options.hpp"

#include <algorithm>

#include "storage/private_file.hpp"

namespace bastion::login {

namespace {

bool loopback_http(const std::string& url) {
  for (const char* p : {"http://127.0.0.1:", "http://127.0.0.1/",
                        "http://localhost:", "http://localhost/", "http://[::1]:", "http://[::1]/"})
    if (url.rfind(p, 0) == 0) return true;
  return false;
}

ProviderOptions read_provider(config::Reader& r) {
  ProviderOptions p;
  p.name = r.str("name", "");
  p.display_name = r.str("display_name", "");
  p.issuer = r.str("issuer", "");
  p.client_id = r.str("client_id", "");
  std::string secret_file = r.str("client_secret_file", "");
  p.scopes = r.str_list("scopes", p.scopes);
  p.groups_claim = r.str("groups_claim", p.groups_claim);
  config::Reader groups = r.child("groups");
  for (const auto& from : groups.keys()) p.groups[from] = groups.str(from, "");
  groups.finish();
  p.ca_file = r.str("ca_file", "");
  r.finish();

  if (p.name.empty() || p.name.size() > 32) r.fail("name", "1-32 characters are required");
  for (char c : p.name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      r.fail("name", "lowercase letters, digits, '-' and '_' only");
  if (p.display_name.empty()) p.display_name = p.name;
  if (p.issuer.rfind("https://", 0) != 0 && !loopback_http(p.issuer))
    r.fail("issuer", "must be an https URL (http only on a loopback address)");
  while (!p.issuer.empty() && p.issuer.back() == '/') p.issuer.pop_back();
  if (p.client_id.empty()) r.fail("client_id", "is required");
  if (secret_file.empty()) r.fail("client_secret_file", "is required");
  auto secret = storage::read_first_line(secret_file);
  if (!secret || secret->empty()) r.fail("client_secret_file", "cannot read " + secret_file);
  p.client_secret = std::move(*secret);
  if (std::find(p.scopes.begin(), p.scopes.end(), "openid") == p.scopes.end())
    p.scopes.insert(p.scopes.begin(), "openid");
  return p;
}

}  // namespace

LoginOptions read_login_options(config::Reader r) {
  LoginOptions o;
  o.session_lifetime = std::chrono::seconds(
      r.integer("session_lifetime", o.session_lifetime.count(), 60, 30 * 86400));
  o.remember_consent = std::chrono::seconds(
      r.integer("remember_consent", o.remember_consent.count(), 0, 400 * 86400));
  o.local_users = r.boolean("local_users", o.local_users);
  config::Reader t = r.child("throttle");
  o.throttle.per_user = static_cast<int>(t.integer("per_user", o.throttle.per_user, 1, 1000));
  o.throttle.per_source =
      static_cast<int>(t.integer("per_source", o.throttle.per_source, 1, 100000));
  o.throttle.window = t.integer("window", o.throttle.window, 1, 86400);
  t.finish();
  for (auto& p : r.list("providers")) {
    auto po = read_provider(p);
    for (const auto& prev : o.providers)
      if (prev.name == po.name) p.fail("name", "duplicate provider name '" + po.name + "'");
    o.providers.push_back(std::move(po));
  }
  r.finish();
  if (!o.local_users && o.providers.empty())
    r.fail("local_users", "false needs at least one provider, or nobody can sign in");
  return o;
}

}  // namespace bastion::login
