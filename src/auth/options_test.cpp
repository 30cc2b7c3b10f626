#include "auth/options.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "storage/temp_dir.hpp"

namespace bastion::auth {
namespace {

constexpr const char* kHash =
    "$argon2id$v=19$m=65536,t=2,p=1$wEWN2eUTlgpM/"
    "LQpqB6Dnw$aMbQjoQ7HDVu+BkT1yxBMrPSo4N4shaU19CwJj0Jaj0";

// The `auth` section of `yaml` (a whole file) read as the server reads it.
Options read(const std::string& yaml) {
  auto doc = config::Document::parse(yaml, "cfg.yaml");
  config::Reader r(doc, "/auth");
  auto o = read_options(r);
  r.finish();
  return o;
}

std::string error_of(const std::string& yaml) {
  try {
    read(yaml);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Options, ParsesEverything) {
  auto o = read(std::string(R"(auth:
  issuer: https://gw.example/
  algorithm: EdDSA
  token_lifetime: 600
  clock_skew: 30
  data_dir: /var/lib/bastion/auth
  require_auth: false
  trusted_proxies: 10.0.0.0/8 fd00::/8
  hash_threads: 2
  hash_queue: 32
  failure_audit_interval: 120
  token_cache: 0
  lockout: {free_failures: 3, max_backoff: 60, max_entries: 500}
  external_issuer: https://idp.example
  external_jwks_url: http://127.0.0.1:9/jwks
  external_issuers: [{issuer: https://other.example, jwks_url: 'http://127.0.0.1:9/o', require_typ: false}]
  signin: {code_lifetime: 30, max_pending_per_source: 7}
  registration: {mode: off}
  client_metadata_documents: {enabled: false, allow_addresses: [127.0.0.1]}
  clients:
    - id: mcp-client
      secret_hash: ')") +
                kHash + R"('
      scopes: mcp.access mcp:server:fs
      default_scopes: [mcp.access]
    - id: desktop
      redirect_uris: [http://127.0.0.1/cb]
)");
  EXPECT_EQ(o.issuer, "https://gw.example");
  EXPECT_EQ(o.effective_audience(), "https://gw.example/mcp");
  EXPECT_EQ(o.algorithm, "EdDSA");
  EXPECT_EQ(o.token_lifetime.count(), 600);
  EXPECT_EQ(o.clock_skew.count(), 30);
  EXPECT_EQ(o.data_dir, "/var/lib/bastion/auth");
  EXPECT_FALSE(o.require_auth);
  EXPECT_EQ(o.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "fd00::/8"}));
  EXPECT_EQ(o.hash_threads, 2u);
  EXPECT_EQ(o.hash_queue, 32u);
  EXPECT_EQ(o.failure_audit_interval.count(), 120);
  EXPECT_EQ(o.token_cache, 0u);
  EXPECT_EQ(o.lockout.pair_free, 3);
  EXPECT_EQ(o.lockout.max_backoff.count(), 60);
  EXPECT_EQ(o.lockout.max_entries, 500u);
  EXPECT_EQ(o.lockout.source_free, 20);  // untouched keys keep their defaults
  ASSERT_EQ(o.external_issuers.size(), 2u);
  EXPECT_EQ(o.external_issuers[0].issuer, "https://idp.example");  // the shorthand first
  EXPECT_FALSE(o.external_issuers[1].require_typ);
  EXPECT_EQ(o.signin.code_lifetime.count(), 30);
  EXPECT_EQ(o.signin.max_pending_per_source, 7u);
  EXPECT_EQ(o.signin.registration.mode, "off");
  EXPECT_FALSE(o.signin.metadata_documents.enabled);
  ASSERT_EQ(o.clients.size(), 2u);
  EXPECT_EQ(o.clients[0].scopes.size(), 2u);
  EXPECT_EQ(o.clients[0].token_endpoint_auth_method, "client_secret_basic");
  EXPECT_EQ(o.clients[1].token_endpoint_auth_method, "none");
  EXPECT_EQ(o.clients[1].grant_types,
            (std::vector<std::string>{"authorization_code", "refresh_token"}));
}

TEST(Options, AbsentKeysKeepTheCallersDefaults) {
  Options defaults;
  defaults.issuer = "";
  defaults.data_dir = "/d/auth";
  auto doc = config::Document::parse("auth: {token_cache: 5}\n", "cfg.yaml");
  config::Reader r(doc, "/auth");
  auto o = read_options(r, defaults);
  EXPECT_EQ(o.issuer, "");
  EXPECT_EQ(o.data_dir, "/d/auth");
  EXPECT_EQ(o.token_cache, 5u);
  EXPECT_EQ(o.hash_threads, 1u);
}

TEST(Options, ErrorsNameFileLineColumnAndKey) {
  // Table: configuration, the start of the message, the key it names.
  struct Case {
    std::string yaml, where, key;
  };
  std::vector<Case> cases = {
      {"auth:\n  tokn_lifetime: 5\n", "cfg.yaml:2:18: unknown key 'tokn_lifetime'",
       "auth.tokn_lifetime"},
      {"auth:\n  token_lifetime: '5'\n", "cfg.yaml:2:19: must be an integer",
       "auth.token_lifetime"},
      {"auth:\n  algorithm: none\n", "cfg.yaml:2:14: must be one of: ES256", "auth.algorithm"},
      {"auth:\n  issuer: ftp://x\n", "cfg.yaml:2:11: scheme must be http(s)", "auth.issuer"},
      {"auth:\n  issuer: https://x/?a=b\n", "cfg.yaml:2:11: must not have a query", "auth.issuer"},
      {"auth:\n  clock_skew: 601\n", "cfg.yaml:2:15: must be between 0 and 600", "auth.clock_skew"},
      {"auth:\n  lockout:\n    free_failure: 3\n", "cfg.yaml:3:19: unknown key 'free_failure'",
       "auth.lockout.free_failure"},
      {"auth:\n  lockout: {max_backoff: 0}\n", "cfg.yaml:2:26: must be between 1 and 86400",
       "auth.lockout.max_backoff"},
      {"auth:\n  trusted_proxies: [10.0.0.0/33]\n", "cfg.yaml:2:3: '10.0.0.0/33' is not an IP",
       "auth.trusted_proxies"},
      {"auth:\n  hash_threads: 65\n", "cfg.yaml:2:17: must be between 1 and 64",
       "auth.hash_threads"},
      {"auth:\n  hash_queue: 0\n", "cfg.yaml:2:15: must be between 1 and 4096", "auth.hash_queue"},
      {"auth:\n  failure_audit_interval: 0\n", "cfg.yaml:2:27: must be between 1 and 86400",
       "auth.failure_audit_interval"},
      {"auth:\n  token_cache: 1000001\n", "cfg.yaml:2:16: must be between 0 and 1000000",
       "auth.token_cache"},
      {"auth:\n  realm: 'a\"b'\n", "cfg.yaml:2:10: must not contain", "auth.realm"},
      {"auth:\n  clients:\n    - id: a\n      secret_hash: plain\n",
       "cfg.yaml:4:20: must be an $argon2id$ hash", "auth.clients.0.secret_hash"},
      {"auth:\n  clients:\n    - id: a\n      color: 1\n", "cfg.yaml:4:14: unknown key 'color'",
       "auth.clients.0.color"},
      {"auth:\n  clients: [{id: a, scopes: [x], default_scopes: [y], token_endpoint_auth_method: "
       "none, redirect_uris: [http://127.0.0.1/]}]\n",
       "cfg.yaml:2:", "auth.clients.0.default_scopes"},
      {"auth:\n  external_issuer: https://idp\n",
       "cfg.yaml:2:20: external_issuer and external_jwks_url go together", "auth.external_issuer"},
      {"auth:\n  external_issuers: [{issuer: x, jwks_url: 'https://idp/jwks'}]\n",
       "cfg.yaml:2:", "auth.external_issuers.0.jwks_url"},
      {"auth:\n  signin:\n    code_lifetime: 5\n", "cfg.yaml:3:20: must be between 10 and 600",
       "auth.signin.code_lifetime"},
      {"auth:\n  signin:\n    max_pending_per_source: 0\n",
       "cfg.yaml:3:29: must be between 1 and 100000", "auth.signin.max_pending_per_source"},
      {"auth:\n  registration: {mode: closed}\n", "cfg.yaml:2:24: must be one of: open, token, off",
       "auth.registration.mode"},
      {"auth:\n  registration: {mode: token}\n",
       "cfg.yaml:2:", "auth.registration.initial_access_token_file"},
      {"auth:\n  client_metadata_documents:\n    max_byte: 1\n",
       "cfg.yaml:3:15: unknown key 'max_byte'", "auth.client_metadata_documents.max_byte"},
      {"auth:\n  test_login:\n    users: [{name: alice, password_hash: hunter2}]\n",
       "cfg.yaml:3:", "auth.test_login.users.0.password_hash"},
  };
  for (const auto& c : cases) {
    auto msg = error_of(c.yaml);
    EXPECT_EQ(msg.rfind(c.where, 0), 0u) << c.yaml << " -> " << msg;
    EXPECT_NE(msg.find("(" + c.key + ")"), std::string::npos) << c.yaml << " -> " << msg;
  }
}

// Attack: an external issuer's key set fetched over plain http from
// another machine: anyone on the path answers with their own key and mints
// tokens Bastion accepts. Refused when the configuration is read, with a
// message that says why; http to this machine stays accepted, and so does
// another host when the operator says so (jwks_over_http).
TEST(Options, AnExternalKeySetOverPlainHttpFromAnotherMachineIsRefused) {
  for (std::string url : {"http://idp.example/jwks", "http://10.0.0.5:8080/jwks",
                          "http://[2001:db8::1]/jwks", "http://localhost.example/jwks"}) {
    auto msg = error_of("auth:\n  external_issuers: [{issuer: https://idp.example, jwks_url: '" +
                        url + "'}]\n");
    EXPECT_NE(msg.find("must be http:// to this machine"), std::string::npos) << url << msg;
    EXPECT_NE(msg.find("(auth.external_issuers.0.jwks_url)"), std::string::npos) << msg;
    msg = error_of("auth:\n  external_issuer: https://idp.example\n  external_jwks_url: '" + url +
                   "'\n");
    EXPECT_NE(msg.find("lets anyone on the path serve their own keys"), std::string::npos)
        << url << msg;
    EXPECT_EQ(read("auth:\n  external_issuers: [{issuer: https://idp.example, jwks_url: '" + url +
                   "', jwks_over_http: true}]\n")
                  .external_issuers.at(0)
                  .jwks_url,
              url)
        << "the operator's explicit choice";
  }
  for (std::string url : {"http://127.0.0.1:9/jwks", "http://localhost:9/jwks", "http://[::1]:9/k"})
    EXPECT_EQ(read("auth:\n  external_issuers: [{issuer: https://idp.example, jwks_url: '" + url +
                   "'}]\n")
                  .external_issuers.at(0)
                  .jwks_url,
              url);
}

TEST(Options, SecretHashFromAMountedFile) {
  storage::TempDir dir;
  auto path = dir.path() / "mcp-client.hash";
  std::ofstream(path) << kHash << "\n";
  auto o = read("auth:\n  clients: [{id: a, secret_hash_file: '" + path.string() + "'}]\n");
  EXPECT_EQ(o.clients.at(0).secret_hash, kHash);
  EXPECT_NE(error_of("auth:\n  clients: [{id: a, secret_hash_file: /nonexistent/h}]\n")
                .find("cannot read /nonexistent/h (auth.clients.0.secret_hash_file)"),
            std::string::npos);
  std::ofstream(path) << "hunter2\n";
  EXPECT_NE(error_of("auth:\n  clients: [{id: a, secret_hash_file: '" + path.string() + "'}]\n")
                .find("must be an $argon2id$ hash"),
            std::string::npos);
}

}  // namespace
}  // namespace bastion::auth
