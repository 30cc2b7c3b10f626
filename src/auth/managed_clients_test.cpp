#include "auth/managed_clients.hpp"

#include <gtest/gtest.h>

#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using testing::FakeClock;
using testing::TempDir;

TEST(ManagedClients, CreateAuthenticateRevoke) {
  TempDir dir;
  FakeClock clock;
  ManagedClients m(dir.path() / "mc", clock);
  auto c = m.create("ci-bot", {"mcp.access"}, "alice");
  ASSERT_TRUE(c) << c.reason();
  EXPECT_FALSE(c->secret.empty());
  EXPECT_TRUE(m.authenticate("ci-bot", c->secret));
  EXPECT_FALSE(m.authenticate("ci-bot", "wrong"));
  EXPECT_FALSE(m.authenticate("nobody", c->secret));
  auto listed = m.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_FALSE(listed[0].contains("secret_hash"));  // never shown again

  EXPECT_FALSE(m.revoked("ci-bot"));
  ASSERT_TRUE(m.revoke("ci-bot", "alice"));
  EXPECT_TRUE(m.revoked("ci-bot"));
  EXPECT_FALSE(m.authenticate("ci-bot", c->secret));
  // The id cannot be created again (tokens naming it stay refused).
  EXPECT_FALSE(m.create("ci-bot", {"mcp.access"}, "alice"));
}

TEST(ManagedClients, RefusesTakenAndBadNames) {
  TempDir dir;
  ManagedClients m(dir.path() / "mc");
  EXPECT_FALSE(m.create("has space", {}, "a"));
  EXPECT_FALSE(m.create("../x", {}, "a"));
  EXPECT_FALSE(m.create("cfg", {}, "a", [](std::string_view id) { return id == "cfg"; }));
}

TEST(ManagedClients, AnotherProcessRevocationIsSeenAfterRefresh) {
  TempDir dir;
  FakeClock clock;
  ManagedClients a(dir.path() / "mc", clock), b(dir.path() / "mc", clock);
  ASSERT_TRUE(a.revoke("configured-client", "op"));  // a tombstone for a configured id
  EXPECT_TRUE(a.revoked("configured-client"));
  clock.advance(2);
  EXPECT_TRUE(b.revoked("configured-client"));
}

}  // namespace
}  // namespace bastion::auth
