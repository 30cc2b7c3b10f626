#include "auth/signin_options.hpp"

#include "auth/clients.hpp"
#include "auth/safe_fetch.hpp"
#include "auth/scopes.hpp"
#include "storage/private_file.hpp"

namespace bastion::auth {

void read_signin_settings(config::Reader& auth, SignInSettings& s) {
  config::Reader si = auth.child("signin");
  s.code_lifetime =
      std::chrono::seconds(si.integer("code_lifetime", s.code_lifetime.count(), 10, 600));
  s.pending_lifetime =
      std::chrono::seconds(si.integer("pending_lifetime", s.pending_lifetime.count(), 60, 3600));
  s.max_pending_per_source = static_cast<std::size_t>(si.integer(
      "max_pending_per_source", static_cast<std::int64_t>(s.max_pending_per_source), 1, 100000));
  s.refresh_token_lifetime = std::chrono::seconds(
      si.integer("refresh_token_lifetime", s.refresh_token_lifetime.count(), 60, 400 * 86400));
  s.refresh_token_max_lifetime = std::chrono::seconds(si.integer(
      "refresh_token_max_lifetime", s.refresh_token_max_lifetime.count(), 60, 400 * 86400));
  si.finish();
  if (s.refresh_token_lifetime > s.refresh_token_max_lifetime)
    si.fail("refresh_token_lifetime", "is longer than refresh_token_max_lifetime");

  config::Reader reg = auth.child("registration");
  auto& r = s.registration;
  r.mode = reg.choice("mode", r.mode, {"open", "token", "off"});
  std::string token_file = reg.str("initial_access_token_file", "");
  r.max_clients = static_cast<std::size_t>(
      reg.integer("max_clients", static_cast<std::int64_t>(r.max_clients), 1, 1'000'000));
  r.per_source_per_hour = static_cast<std::size_t>(reg.integer(
      "per_source_per_hour", static_cast<std::int64_t>(r.per_source_per_hour), 1, 100000));
  r.unused_lifetime = std::chrono::seconds(
      reg.integer("unused_lifetime", r.unused_lifetime.count(), 600, 30 * 86400));
  r.idle_lifetime = std::chrono::seconds(
      reg.integer("idle_lifetime", r.idle_lifetime.count(), 86400, 400 * 86400));
  reg.finish();
  if (r.mode == "token") {
    if (token_file.empty())
      reg.fail("initial_access_token_file", "mode token needs the file with the token");
    auto t = storage::read_first_line(token_file);
    if (!t || t->size() < 16)
      reg.fail("initial_access_token_file",
               "cannot read " + token_file + " (or the token is shorter than 16 characters)");
    r.initial_access_token = std::move(*t);
  } else if (!token_file.empty()) {
    reg.fail("initial_access_token_file", "only with mode: token");
  }

  config::Reader md = auth.child("client_metadata_documents");
  auto& m = s.metadata_documents;
  m.enabled = md.boolean("enabled", m.enabled);
  m.timeout = std::chrono::seconds(md.integer("timeout", m.timeout.count(), 1, 60));
  m.max_bytes = static_cast<std::size_t>(
      md.integer("max_bytes", static_cast<std::int64_t>(m.max_bytes), 512, 1024 * 1024));
  m.max_redirects = static_cast<int>(md.integer("max_redirects", m.max_redirects, 0, 10));
  m.min_cache = std::chrono::seconds(md.integer("min_cache", m.min_cache.count(), 0, 86400));
  m.max_cache = std::chrono::seconds(md.integer("max_cache", m.max_cache.count(), 0, 30 * 86400));
  m.allow_addresses = md.str_list("allow_addresses", m.allow_addresses);
  for (const auto& a : m.allow_addresses)
    if (!IpNetwork::parse(a))
      md.fail("allow_addresses", "'" + a + "' is not an IP address or network");
  m.allow_hosts = md.str_list("allow_hosts", m.allow_hosts);
  m.ca_file = md.str("ca_file", m.ca_file);
  md.finish();

  config::Reader tl = auth.child("test_login");
  for (auto& u : tl.list("users")) {
    TestLoginUser tu{u.str("name", ""), u.str("password_hash", ""), u.str_list("scopes")};
    u.finish();
    if (tu.name.empty() || tu.name.size() > 64 || tu.name.find(':') != std::string::npos)
      u.fail("name", "1-64 characters, no ':'");
    if (!well_formed_hash(tu.password_hash))
      u.fail("password_hash", "must be an $argon2id$ hash, never a password");
    for (const auto& sc : tu.scopes)
      if (!valid_scope_token(sc)) u.fail("scopes", "malformed scope '" + sc + "'");
    s.test_login.push_back(std::move(tu));
  }
  tl.finish();
}

}  // namespace bastion::auth
