// The bearer check: the pure challenge and token-syntax pieces, then
// AuthServer::authenticate, require_scope and /hello on a real AuthServer.
#include "auth/bearer.hpp"

#include <gtest/gtest.h>

#include "auth/scopes.hpp"
#include "auth/server_fixture.hpp"

namespace bastion::auth {
namespace {

using testing::body_of;
using testing::Server;

TEST(BearerToken, Rfc6750Syntax) {
  for (std::string_view ok : {"abc", "a.b.c", "A-Z_0~9+/", "abc=", "abc=="})
    EXPECT_TRUE(valid_b64token(ok)) << ok;
  for (std::string_view bad : {"", "=", "=abc", "a b", "a=b", "a\"b", "a,b", "a\tb"})
    EXPECT_FALSE(valid_b64token(bad)) << bad;
  // Letters beyond ASCII (UTF-8, Latin-1) are not token characters, whatever
  // the locale calls them.
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "a\xc3\xa9" "b", "\xe9", "abc\xff", "\x80=", std::string_view("a\0b", 3)})
    EXPECT_FALSE(valid_b64token(bad));
}

TEST(BearerChallenge, HeaderAndBodyCarryTheSameFields) {
  Request req{http::verb::post, "/mcp", 11};
  auto none = bearer_challenge(req, http::status::unauthorized, "r", "http://x/md", "", "");
  EXPECT_EQ(none[http::field::www_authenticate],
            R"(Bearer realm="r", resource_metadata="http://x/md")");
  EXPECT_EQ(body_of(none).at("error"), "unauthorized");
  EXPECT_EQ(none[http::field::cache_control], "no-store");

  auto scoped = bearer_challenge(req, http::status::forbidden, "r", "http://x/md",
                                 "insufficient_scope", "needs \"more\"", "a b");
  EXPECT_EQ(scoped.result(), http::status::forbidden);
  EXPECT_EQ(scoped[http::field::www_authenticate],
            R"(Bearer realm="r", resource_metadata="http://x/md", error="insufficient_scope", )"
            R"(error_description="needs more", scope="a b")");
  auto b = body_of(scoped);
  EXPECT_EQ(b.at("error"), "insufficient_scope");
  EXPECT_EQ(b.at("error_description"), "needs \"more\"");
  EXPECT_EQ(b.at("scope"), "a b");
}

TEST(Resource, AuthenticateAndScopes) {
  Server s;
  auto req_with = [](std::string auth) {
    Request req{http::verb::post, "/mcp", 11};
    if (!auth.empty()) req.set(http::field::authorization, auth);
    return req;
  };
  const std::string md =
      "resource_metadata=\"http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp\"";
  auto none = s.as->authenticate(req_with(""));
  ASSERT_FALSE(none);
  auto& r = none.error();
  EXPECT_EQ(r.result(), http::status::unauthorized);
  // The scope hint tells an MCP client what to ask for (MCP scope selection).
  EXPECT_EQ(r[http::field::www_authenticate],
            "Bearer realm=\"bastion\", " + md + ", scope=\"mcp.access\"");
  EXPECT_EQ(body_of(r).at("error"), "unauthorized");

  auto bad = s.as->authenticate(req_with("Bearer not-a-jwt"));
  auto& rb = bad.error();
  EXPECT_EQ(rb.result(), http::status::unauthorized);
  std::string h(rb[http::field::www_authenticate]);
  EXPECT_NE(h.find(md), std::string::npos);
  EXPECT_NE(h.find("error=\"invalid_token\""), std::string::npos);
  EXPECT_NE(h.find("error_description=\""), std::string::npos);
  EXPECT_NE(h.find("scope=\"mcp.access\""), std::string::npos);

  std::string tok = s.token("mcp:server:fs");
  auto ok = s.as->authenticate(req_with("bearer " + tok));  // scheme is case-insensitive
  ASSERT_TRUE(ok) << ok.error().body();
  const auto& p = ok.value();
  EXPECT_EQ(p.client_id, "mcp-client");
  EXPECT_TRUE(may_use(p, "fs", "read_file"));
  EXPECT_FALSE(may_use(p, "git", "log"));
  EXPECT_FALSE(s.as->require_scope(req_with(""), p, "mcp:tool:fs/read_file"));
  auto forbidden = s.as->require_scope(req_with(""), p, "mcp.access");
  ASSERT_TRUE(forbidden);
  EXPECT_EQ(forbidden->result(), http::status::forbidden);
  std::string fh(forbidden->at(http::field::www_authenticate));
  EXPECT_NE(fh.find("error=\"insufficient_scope\""), std::string::npos);
  EXPECT_NE(fh.find("scope=\"mcp.access\""), std::string::npos);

  s.clock.advance(1800 + 60);
  auto expired = s.as->authenticate(req_with("Bearer " + tok));
  EXPECT_NE(
      std::string(expired.error()[http::field::www_authenticate]).find("token expired"),
      std::string::npos);

  Server open("ES256", /*require_auth=*/false);
  auto anon = open.as->authenticate(req_with(""));
  ASSERT_TRUE(anon);
  EXPECT_FALSE(anon.value().authenticated);
  EXPECT_FALSE(open.as->authenticate(req_with("Bearer x.y.z")));
}

TEST(Resource, HelloLikeTheSeed) {
  Server s("HS256");
  EXPECT_EQ(s.get("/hello").result(), http::status::unauthorized);
  auto r = s.get("/hello", "Bearer " + s.token());
  ASSERT_EQ(r.result(), http::status::ok) << r.body();
  auto b = body_of(r);
  EXPECT_EQ(b.at("authenticated_client").as_string(), "mcp-client");
  EXPECT_TRUE(b.contains("message"));
  EXPECT_EQ(b.at("timestamp").as_string(), "2023-11-14T22:13:20Z");
  EXPECT_TRUE(body_of(s.get("/.well-known/jwks.json")).at("keys").as_array().empty());
}

}  // namespace
}  // namespace bastion::auth
