#include "auth/scopes.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace bastion::auth
