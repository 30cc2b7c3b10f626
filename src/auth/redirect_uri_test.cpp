#include "auth/redirect_uri.hpp"

#include <gtest/gtest.h>

namespace bastion::auth {
namespace {

TEST(RedirectUri, WhatAClientMayRegister) {
  struct Case {
    const char* uri;
    bool ok;
    bool ok_for_web;
  } cases[] = {
      {"https://client.example/cb", true, true},
      {"https://www.cursor.com/agents/mcp/oauth/callback", true, true},
      {"http://localhost:8787/callback", true, false},
      {"http://127.0.0.1/callback", true, false},
      {"http://[::1]:33418/cb", true, false},
      {"cursor://anysphere.cursor-mcp/oauth/callback", true, false},
      {"com.example.app:/oauth2redirect", true, false},
      {"http://client.example/cb", false, false},        // http off loopback
      {"http://127.0.0.2/cb", false, false},             // not one of the three names
      {"https://client.example/cb#frag", false, false},  // fragment
      {"https://user:pw@client.example/cb", false, false},
      {"javascript:alert(1)", false, false},
      {"JavaScript://x/%0aalert(1)", false, false},
      {"data:text/html,hi", false, false},
      {"file:///etc/passwd", false, false},
      {"/relative/cb", false, false},
      {"https:///nohost", false, false},
      {"https://client.example/c b", false, false},
      {"", false, false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(check_redirect_uri(c.uri).ok(), c.ok) << c.uri;
    EXPECT_EQ(check_redirect_uri(c.uri, /*web=*/true).ok(), c.ok_for_web) << c.uri;
  }
  EXPECT_EQ(check_redirect_uri("cursor://anysphere.cursor-mcp/x")->host, "cursor:");
  EXPECT_EQ(check_redirect_uri("https://Client.Example/x")->host, "client.example");
  EXPECT_EQ(check_redirect_uri(std::string(2001, 'a')).ok(), false);
}

TEST(RedirectUri, MatchingIsExactExceptTheLoopbackPort) {
  struct Case {
    const char* registered;
    const char* requested;
    bool match;
  } cases[] = {
      {"https://c.example/cb", "https://c.example/cb", true},
      {"https://c.example/cb", "https://c.example/cb/", false},
      {"https://c.example/cb", "https://c.example/cb?x=1", false},
      {"https://c.example/cb", "https://c.example:443/cb", false},
      {"https://c.example/cb", "https://C.example/cb", false},
      {"https://c.example/cb", "https://c.example.evil/cb", false},
      {"https://c.example/cb", "https://c.example/cb#x", false},
      {"https://c.example:8443/cb", "https://c.example:9443/cb",
       false},  // ports matter off loopback
      {"http://127.0.0.1/callback", "http://127.0.0.1:53211/callback", true},
      {"http://127.0.0.1:3000/callback", "http://127.0.0.1:53211/callback", true},
      {"http://localhost/callback", "http://localhost:8080/callback", true},
      {"http://[::1]/cb", "http://[::1]:1234/cb", true},
      {"http://localhost/callback", "http://127.0.0.1:8080/callback", false},
      {"http://127.0.0.1/callback", "http://127.0.0.1:8080/other", false},
      {"http://127.0.0.1/callback", "http://127.0.0.1:8080/callback?x", false},
      {"http://127.0.0.1/callback", "https://127.0.0.1:8080/callback", false},
      {"http://127.0.0.1/callback", "http://user@127.0.0.1:8080/callback", false},
      {"http://127.0.0.1/callback", "http://127.0.0.1:8080/callback#f", false},
      {"cursor://anysphere.cursor-mcp/oauth/callback",
       "cursor://anysphere.cursor-mcp/oauth/callback", true},
      {"cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/other",
       false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(redirect_uri_matches(c.registered, c.requested), c.match)
        << c.registered << " vs " << c.requested;
}

TEST(Pkce, S256) {
  // Expected value computed independently (Python hashlib + base64url).
  const std::string verifier = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk";
  EXPECT_EQ(pkce_s256(verifier), "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc");
  EXPECT_TRUE(pkce_s256_matches(verifier, "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc"));
  EXPECT_FALSE(pkce_s256_matches(verifier, "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtd"));
  // plain (verifier == challenge) never matches.
  EXPECT_FALSE(pkce_s256_matches(verifier, verifier.substr(0, 43)));
  EXPECT_FALSE(valid_code_verifier("short"));
  EXPECT_FALSE(valid_code_verifier(std::string(129, 'a')));
  EXPECT_FALSE(valid_code_verifier(std::string(43, '+')));
  EXPECT_TRUE(valid_code_verifier(std::string(128, '~')));
  EXPECT_FALSE(valid_s256_challenge("abc"));
  EXPECT_FALSE(valid_s256_challenge(std::string(43, '=')));
}

}  // namespace
}  // namespace bastion::auth
