#include "auth/scopes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "auth/jwt.hpp"

namespace bastion::auth {
namespace {

TEST(Scopes, GrammarAndMayUse) {
  EXPECT_TRUE(scope_covers("mcp.access", "mcp:server:fs"));
  EXPECT_TRUE(scope_covers("mcp.access", "mcp:tool:fs/read"));
  EXPECT_FALSE(scope_covers("mcp.access", "admin"));
  EXPECT_TRUE(scope_covers("mcp:server:fs", "mcp:tool:fs/read"));
  EXPECT_FALSE(scope_covers("mcp:server:fs", "mcp:tool:fsx/read"));
  EXPECT_FALSE(scope_covers("mcp:server:fs", "mcp:server:git"));
  EXPECT_FALSE(valid_scope_token("a\"b"));
  EXPECT_FALSE(valid_scope_token(""));
  protocol::Principal p;
  p.authenticated = true;
  p.scopes = {"mcp:tool:git/log"};
  EXPECT_TRUE(may_use(p, "git", "log"));
  EXPECT_FALSE(may_use(p, "git", "push"));
  EXPECT_TRUE(may_use_server(p, "git"));
  EXPECT_FALSE(may_use_server(p, "fs"));
  p.scopes = {"mcp.access"};
  EXPECT_TRUE(may_use(p, "anything", "at_all"));
  EXPECT_TRUE(may_use(protocol::Principal::anonymous(), "x", "y"));
}

// A resource's scopes_supported is its owner's text: only valid
// scope-tokens, once each, bounded in count and bytes, offline_access kept.
TEST(Scopes, WhatAClientAsksForFromAdvertisedScopesIsBounded) {
  boost::json::array listed = {"mcp.access", 7, "with space", "quote\"d", "", "mcp.access",
                               "ctl\x01", nullptr, "mcp:server:crm"};
  EXPECT_EQ(scopes_to_request(listed), (std::vector<std::string>{"mcp.access", "mcp:server:crm"}));

  boost::json::array flood;
  for (int i = 0; i < 100000; ++i) flood.emplace_back("scope_" + std::to_string(i));
  flood.emplace_back(std::string(100000, 'x'));
  flood.emplace_back("offline_access");
  auto asked = scopes_to_request(flood);
  EXPECT_LE(asked.size(), kMaxAdvertisedScopes);
  EXPECT_LE(join_scopes(asked).size(), kMaxAdvertisedScopeBytes);
  EXPECT_EQ(asked.front(), "scope_0");
  EXPECT_EQ(asked.back(), "offline_access");
  for (const auto& s : asked) EXPECT_LE(s.size(), 16u) << s;
}

}  // namespace
}  // namespace bastion::auth
