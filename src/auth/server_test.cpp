// The OAuth endpoints called directly (no sockets): token, introspection,
// revocation, metadata.
#include "auth/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "auth/record_store.hpp"
#include "auth/server_fixture.hpp"

namespace bastion::auth {
namespace {

using testing::basic;
using testing::body_of;
using testing::client_a;
using testing::client_b;
using testing::expect_error;
using testing::record_files;
using testing::Server;
using testing::TempDir;

TEST(TokenEndpoint, ClientSecretBasicAndPost) {
  Server s;
  auto r = s.post("/oauth2/token", "grant_type=client_credentials&scope=mcp.access",
                  "application/x-www-form-urlencoded; charset=UTF-8",
                  basic("mcp-client", client_a().secret));
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  EXPECT_EQ(r[http::field::cache_control], "no-store");
  EXPECT_EQ(r[http::field::pragma], "no-cache");
  auto b = body_of(r);
  EXPECT_EQ(b.at("token_type").as_string(), "Bearer");
  EXPECT_EQ(b.at("expires_in").as_int64(), 1800);
  EXPECT_EQ(b.at("scope").as_string(), "mcp.access");
  auto v = s.as->validate(b.at("access_token").as_string());
  ASSERT_TRUE(v) << v.reason();
  EXPECT_EQ(v->client_id, "mcp-client");
  EXPECT_EQ(v->aud, std::vector<std::string>{"http://127.0.0.1:8080/mcp"});

  // The seed's exact request: client_secret_post.
  r = s.post("/oauth2/token", "grant_type=client_credentials&client_id=mcp-client&client_secret=" +
                                  form_encode(client_a().secret) + "&scope=mcp.access");
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  EXPECT_EQ(s.as->stats().tokens_issued, 2u);
}

TEST(TokenEndpoint, BasicCredentialsAreFormDecoded) {
  // A client id and secret with characters that must be form-encoded in Basic.
  auto c = create_client("odd.client", {"mcp.access"}).value();
  TempDir tmp;
  Options o;
  o.data_dir = tmp.path() / "auth";
  std::string secret = "p@ss:w+rd %/é";
  o.clients = {ClientConfig{"odd:client", hash_secret(secret), {"mcp.access"}, {}}};
  AuthServer as(o);
  Request req{http::verb::post, "/oauth2/token", 11};
  req.set(http::field::content_type, "application/x-www-form-urlencoded");
  req.set(http::field::authorization, basic("odd:client", secret));
  req.body() = "grant_type=client_credentials";
  auto r = as.handle(req);
  ASSERT_EQ(r->result(), http::status::ok) << r->body();
  EXPECT_EQ(body_of(*r).at("scope").as_string(), "mcp.access");  // no scope -> all allowed
}

TEST(TokenEndpoint, ScopeDownScoping) {
  Server s;
  auto scope_of = [&](std::string id, std::string secret, std::string scope) {
    auto r = s.post(
        "/oauth2/token",
        "grant_type=client_credentials" + (scope.empty() ? "" : "&scope=" + form_encode(scope)),
        "application/x-www-form-urlencoded", basic(id, secret));
    return r.result() == http::status::ok
               ? std::string(body_of(r).at("scope").as_string())
               : "error:" + std::string(body_of(r).at("error").as_string());
  };
  EXPECT_EQ(scope_of("mcp-client", client_a().secret, ""), "mcp.access extra");
  EXPECT_EQ(scope_of("mcp-client", client_a().secret, "extra"), "extra");
  // mcp.access covers any finer MCP scope.
  EXPECT_EQ(scope_of("mcp-client", client_a().secret, "mcp:tool:fs/read_file"),
            "mcp:tool:fs/read_file");
  EXPECT_EQ(scope_of("narrow", client_b().secret, "mcp.access mcp:tool:fs/read"),
            "mcp:tool:fs/read");
  EXPECT_EQ(scope_of("narrow", client_b().secret, "mcp.access"), "error:invalid_scope");
  EXPECT_EQ(scope_of("narrow", client_b().secret, "mcp:tool:git/push"), "error:invalid_scope");
  EXPECT_EQ(scope_of("narrow", client_b().secret, ""), "mcp:server:fs mcp:tool:git/log");
}

// RFC 6749 §5.2, one row per case.
TEST(TokenEndpoint, ErrorResponsesPerRfc6749) {
  Server s;
  const std::string good_basic = basic("mcp-client", client_a().secret);
  const std::string sec = form_encode(client_a().secret);
  const std::string form = "application/x-www-form-urlencoded";
  struct Case {
    std::string name, body, content_type, authorization;
    http::status status;
    std::string error;
    bool basic_challenge = false;
  } cases[] = {
      {"json body", R"({"grant_type":"client_credentials"})", "application/json", good_basic,
       http::status::bad_request, "invalid_request"},
      {"no content type", "grant_type=client_credentials", "", good_basic,
       http::status::bad_request, "invalid_request"},
      {"missing grant_type", "scope=mcp.access", form, good_basic, http::status::bad_request,
       "invalid_request"},
      {"duplicated grant_type", "grant_type=client_credentials&grant_type=client_credentials", form,
       good_basic, http::status::bad_request, "invalid_request"},
      {"duplicated scope", "grant_type=client_credentials&scope=a&scope=b", form, good_basic,
       http::status::bad_request, "invalid_request"},
      {"bad percent", "grant_type=client_credentials&scope=%zz", form, good_basic,
       http::status::bad_request, "invalid_request"},
      {"secret in header and body", "grant_type=client_credentials&client_secret=" + sec, form,
       good_basic, http::status::bad_request, "invalid_request"},
      {"different client_id in body", "grant_type=client_credentials&client_id=narrow", form,
       good_basic, http::status::bad_request, "invalid_request"},
      {"no client auth", "grant_type=client_credentials", form, "", http::status::unauthorized,
       "invalid_client"},
      {"public client", "grant_type=client_credentials&client_id=mcp-client", form, "",
       http::status::unauthorized, "invalid_client"},
      {"wrong secret (post)", "grant_type=client_credentials&client_id=mcp-client&client_secret=x",
       form, "", http::status::unauthorized, "invalid_client"},
      {"unknown client (post)", "grant_type=client_credentials&client_id=who&client_secret=" + sec,
       form, "", http::status::unauthorized, "invalid_client"},
      {"wrong secret (basic)", "grant_type=client_credentials", form, basic("mcp-client", "nope"),
       http::status::unauthorized, "invalid_client", true},
      {"malformed basic", "grant_type=client_credentials", form, "Basic !!!!",
       http::status::unauthorized, "invalid_client", true},
      {"bearer as client auth", "grant_type=client_credentials", form, "Bearer abc",
       http::status::unauthorized, "invalid_client", true},
      {"unsupported grant", "grant_type=password&username=a&password=b", form, good_basic,
       http::status::bad_request, "unsupported_grant_type"},
      {"authorization_code", "grant_type=authorization_code&code=x", form, good_basic,
       http::status::bad_request, "unsupported_grant_type"},
      {"client without the grant", "grant_type=client_credentials", form,
       basic("nogrant", client_a().secret), http::status::bad_request, "unauthorized_client"},
      {"scope not allowed", "grant_type=client_credentials&scope=admin", form, good_basic,
       http::status::bad_request, "invalid_scope"},
      {"malformed scope", "grant_type=client_credentials&scope=a%22b", form, good_basic,
       http::status::bad_request, "invalid_scope"},
      {"wrong resource", "grant_type=client_credentials&resource=https%3A%2F%2Fevil", form,
       good_basic, http::status::bad_request, "invalid_target"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = s.post("/oauth2/token", c.body, c.content_type, c.authorization);
    expect_error(r, c.status, c.error);
    if (c.basic_challenge)
      EXPECT_EQ(r[http::field::www_authenticate], "Basic realm=\"bastion\"");
    else
      EXPECT_EQ(r.count(http::field::www_authenticate), 0u);
  }
  // Two Authorization headers.
  Request req{http::verb::post, "/oauth2/token", 11};
  req.set(http::field::content_type, form);
  req.insert(http::field::authorization, good_basic);
  req.insert(http::field::authorization, good_basic);
  req.body() = "grant_type=client_credentials";
  expect_error(*s.as->handle(req), http::status::bad_request, "invalid_request");
  // Wrong method.
  EXPECT_EQ(s.get("/oauth2/token").result(), http::status::method_not_allowed);
  EXPECT_EQ(s.as->stats().tokens_issued, 0u);
}

TEST(Introspection, ActiveAndInactive) {
  Server s;
  std::string tok = s.token();
  const std::string auth = basic("narrow", client_b().secret);
  auto r = s.post("/oauth2/introspect", "token=" + tok, "application/x-www-form-urlencoded", auth);
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  auto b = body_of(r);
  EXPECT_EQ(b.at("active"), true);
  for (auto k : {"scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "token_type"})
    EXPECT_TRUE(b.contains(k)) << k;
  EXPECT_EQ(b.at("client_id").as_string(), "mcp-client");
  EXPECT_EQ(r[http::field::cache_control], "no-store");

  auto inactive = [&](const std::string& token) {
    auto r2 =
        s.post("/oauth2/introspect", "token=" + token, "application/x-www-form-urlencoded", auth);
    EXPECT_EQ(r2.result(), http::status::ok);
    EXPECT_EQ(r2.body(), R"({"active":false})");
  };
  inactive("garbage");
  std::string tampered = tok;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  inactive(tampered);
  s.clock.advance(1800 + 60);
  inactive(tok);  // expired

  expect_error(s.post("/oauth2/introspect", "token=" + tok), http::status::unauthorized,
               "invalid_client");
  expect_error(s.post("/oauth2/introspect", "", "application/x-www-form-urlencoded", auth),
               http::status::bad_request, "invalid_request");
}

TEST(Revocation, RevokedTokensStayRevokedAcrossRestart) {
  Server s;
  std::string tok = s.token();
  const std::string auth = basic("mcp-client", client_a().secret);
  const std::string form = "application/x-www-form-urlencoded";
  auto r = s.post("/oauth2/revoke", "token=" + tok + "&token_type_hint=access_token", form, auth);
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r[http::field::cache_control], "no-store");
  EXPECT_EQ(s.as->stats().tokens_revoked, 1u);
  EXPECT_FALSE(s.as->validate(tok));
  EXPECT_EQ(s.post("/oauth2/introspect", "token=" + tok, form, auth).body(), R"({"active":false})");
  // Unknown, garbage and repeated revocations are 200.
  EXPECT_EQ(s.post("/oauth2/revoke", "token=unknown", form, auth).result(), http::status::ok);
  EXPECT_EQ(s.post("/oauth2/revoke", "token=" + tok, form, auth).result(), http::status::ok);
  // Another client cannot revoke this client's token.
  std::string tok2 = s.token();
  expect_error(s.post("/oauth2/revoke", "token=" + tok2, form, basic("narrow", client_b().secret)),
               http::status::bad_request, "unauthorized_client");
  expect_error(s.post("/oauth2/revoke", "token=" + tok2, form), http::status::unauthorized,
               "invalid_client");

  s.reload();
  EXPECT_FALSE(s.as->validate(tok));
  EXPECT_TRUE(s.as->validate(tok2));
  auto who = s.as->authenticate([&] {
    Request req{http::verb::post, "/mcp", 11};
    req.set(http::field::authorization, "Bearer " + tok);
    return req;
  }());
  ASSERT_FALSE(who);
  EXPECT_NE(std::string(who.error()[http::field::www_authenticate]).find("revoked"),
            std::string::npos);
  // Pruned once expired; the file shrinks.
  s.clock.advance(1800 + 61);
  EXPECT_EQ(const_cast<RevocationList&>(s.as->revocations()).prune(), 1u);
}

TEST(Metadata, DocumentsAndJwks) {
  Server s;
  auto as_md = body_of(s.get("/.well-known/oauth-authorization-server"));
  EXPECT_EQ(as_md.at("issuer").as_string(), "http://127.0.0.1:8080");
  EXPECT_EQ(as_md.at("token_endpoint").as_string(), "http://127.0.0.1:8080/oauth2/token");
  EXPECT_EQ(as_md.at("jwks_uri").as_string(), "http://127.0.0.1:8080/.well-known/jwks.json");
  EXPECT_EQ(as_md.at("grant_types_supported"), json::array{"client_credentials"});
  EXPECT_EQ(body_of(s.get("/.well-known/openid-configuration")), as_md);
  auto prm = body_of(s.get("/.well-known/oauth-protected-resource/mcp"));
  EXPECT_EQ(prm.at("resource").as_string(), "http://127.0.0.1:8080/mcp");
  EXPECT_EQ(prm.at("authorization_servers"), json::array{"http://127.0.0.1:8080"});
  EXPECT_EQ(body_of(s.get("/.well-known/oauth-protected-resource")).at("resource").as_string(),
            "http://127.0.0.1:8080");
  auto jwks = body_of(s.get("/.well-known/jwks.json"));
  ASSERT_EQ(jwks.at("keys").as_array().size(), 1u);
  EXPECT_EQ(jwks.at("keys").at(0).at("kid").as_string(), s.as->keys().active()->kid());
  EXPECT_FALSE(jwks.at("keys").at(0).as_object().contains("d"));

  // Rotation: the old kid stays published, tokens it signed still validate.
  std::string old_tok = s.token();
  std::string old_kid = s.as->keys().active()->kid();
  s.as->keys().rotate();
  jwks = body_of(s.get("/.well-known/jwks.json"));
  EXPECT_EQ(jwks.at("keys").as_array().size(), 2u);
  EXPECT_EQ(jwks.at("keys").at(1).at("kid").as_string(), old_kid);
  EXPECT_TRUE(s.as->validate(old_tok));

  Request other{http::verb::get, "/mcp", 11};
  EXPECT_FALSE(s.as->handle(other));
  EXPECT_EQ(s.post("/.well-known/jwks.json", "").result(), http::status::method_not_allowed);
}

// An interaction whose prune() is counted and throws (a failing disk).
struct PruneCounting : Interaction {
  std::atomic<int> pruned{0};
  void begin(const Request&, std::string_view, const PendingAuthorization&, const InteractionHost&,
             Done) override {}
  bool handle(const Request&, std::string_view, const InteractionHost&, Done) override {
    return false;
  }
  void prune() override {
    ++pruned;
    throw std::runtime_error("disk on fire");
  }
};

// MCP clients ask for what the 401 hint (or the PRM's scopes_supported)
// names, and only a sign-in with offline_access gets a refresh token: with
// sign-in both name it (so the TypeScript SDK's client can stay signed in);
// without sign-in (client_credentials only) neither does.
TEST(Metadata, OfflineAccessIsAdvertisedOnlyWithSignIn) {
  Server s;
  auto hint = [&] {
    auto r = s.as->authenticate(Request{http::verb::post, "/mcp", 11});
    EXPECT_FALSE(r);
    return r ? std::string() : std::string(r.error()[http::field::www_authenticate]);
  };
  auto prm_scopes = [&] {
    return body_of(s.get("/.well-known/oauth-protected-resource/mcp")).at("scopes_supported");
  };
  EXPECT_EQ(prm_scopes(), json::array{"mcp.access"});
  EXPECT_NE(hint().find("scope=\"mcp.access\""), std::string::npos) << hint();
  s.as->set_interaction(std::make_shared<PruneCounting>());
  EXPECT_EQ(prm_scopes(), (json::array{"mcp.access", "offline_access"}));
  EXPECT_NE(hint().find("scope=\"mcp.access offline_access\""), std::string::npos) << hint();
  auto as_scopes = body_of(s.get("/.well-known/oauth-authorization-server")).at("scopes_supported");
  EXPECT_NE(std::find(as_scopes.as_array().begin(), as_scopes.as_array().end(),
                      json::value("offline_access")),
            as_scopes.as_array().end());
}

// Attack: a running server never deleted expired state (pending sign-ins,
// codes and their used markers, used private_key_jwt jtis, the sign-in
// pages' sessions), so anyone could grow the data directory without bound.
// The housekeeping thread (once a minute) deletes it, and an interaction
// whose prune throws neither stops the rest nor the thread.
TEST(Housekeeping, PrunesExpiredSignInStateAndAssertionJtis) {
  Server s;
  auto ui = std::make_shared<PruneCounting>();
  s.as->set_interaction(ui);
  auto dir = s.as->options().data_dir;
  RecordStore pending(dir / "pending", {.durable = false}, s.clock);
  RecordStore codes(dir / "codes", {.durable = false}, s.clock);
  RecordStore jtis(dir / "assertions", {.durable = false}, s.clock);
  ASSERT_TRUE(pending.create("p", json::object{}, s.clock() + 600).value());
  ASSERT_TRUE(codes.create("c", json::object{}, s.clock() + 600).value());
  ASSERT_EQ(codes.take("c").state, RecordStore::Taken::State::kTaken);  // a .used marker
  ASSERT_TRUE(jtis.create("used-jti", json::object{}, s.clock() + 600).value());
  ASSERT_TRUE(jtis.create("live-jti", json::object{}, s.clock() + 100000).value());
  auto wait_for = [](const std::function<bool()>& done) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return done();
  };
  // Nothing has expired: a prune a minute later keeps it all.
  s.clock.advance(61);
  ASSERT_TRUE(wait_for([&] { return ui->pruned.load() >= 1; }));
  EXPECT_EQ(record_files(dir / "pending"), 1u);
  EXPECT_EQ(record_files(dir / "codes"), 1u);
  EXPECT_EQ(record_files(dir / "assertions"), 2u);
  s.clock.advance(600);
  EXPECT_TRUE(wait_for([&] {
    return record_files(dir / "pending") == 0 && record_files(dir / "codes") == 0 &&
           record_files(dir / "assertions") == 1;
  })) << record_files(dir / "pending") << " " << record_files(dir / "codes") << " "
      << record_files(dir / "assertions");
  EXPECT_TRUE(jtis.get("live-jti"));
  // The thread survived the interaction's exception: a minute later it prunes again.
  int before = ui->pruned.load();
  s.clock.advance(61);
  EXPECT_TRUE(wait_for([&] { return ui->pruned.load() > before; }));
}

TEST(SignInSettings, PerSourceLimitComesFromTheConfiguration) {
  Server d;
  EXPECT_EQ(d.as->signin().options().max_pending_per_source, 50u);
  Server s("ES256", true, [](Options& o) { o.signin.max_pending_per_source = 9; });
  EXPECT_EQ(s.as->signin().options().max_pending_per_source, 9u);
}

}  // namespace
}  // namespace bastion::auth
