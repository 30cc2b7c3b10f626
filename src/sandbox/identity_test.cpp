#include "sandbox/identity.hpp"

#include <gtest/gtest.h>

namespace bastion::sandbox {
namespace {

IdentityHost host(uid_t euid) {
  IdentityHost h;
  h.euid = euid;
  h.egid = euid;
  h.lookup = [](const std::string& name) -> std::optional<std::pair<uid_t, gid_t>> {
    if (name == "mcp") return std::make_pair(uid_t{2001}, gid_t{2002});
    if (name == "root") return std::make_pair(uid_t{0}, gid_t{0});
    return std::nullopt;
  };
  return h;
}

TEST(Identity, AutoAsRootIsAStablePerServerUidInTheRange) {
  IdentityOptions o;
  auto a = resolve_identity(o, "", "default/a", false, host(0));
  auto b = resolve_identity(o, "", "default/b", false, host(0));
  ASSERT_TRUE(a.ok()) << a.reason();
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(a->switch_user);
  EXPECT_GE(a->uid, o.uid_first);
  EXPECT_LT(a->uid, o.uid_first + o.uid_count);
  EXPECT_EQ(a->gid, a->uid);
  EXPECT_NE(a->uid, b->uid);
  EXPECT_EQ(resolve_identity(o, "", "default/a", false, host(0))->uid, a->uid);
  EXPECT_NE(resolve_identity(o, "", "other/a", false, host(0))->uid, a->uid);
}

TEST(Identity, AutoAsAnotherUserIsBastionsOwnWithoutSwitching) {
  auto id = resolve_identity({}, "", "default/a", false, host(1000));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->uid, 1000u);
  EXPECT_FALSE(id->switch_user);
  EXPECT_NE(id->description.find("cannot switch"), std::string::npos);
}

TEST(Identity, DockerAlwaysGetsAnUnprivilegedUser) {
  auto id = resolve_identity({}, "", "default/a", true, host(1000));
  ASSERT_TRUE(id.ok());
  EXPECT_GE(id->uid, 1000000000u);
  EXPECT_FALSE(id->switch_user);  // the daemon switches
}

TEST(Identity, ExplicitUsers) {
  struct Case {
    std::string user;
    uid_t euid;
    bool ok;
    uid_t uid;
    gid_t gid;
    const char* error;
  } cases[] = {
      {"mcp", 0, true, 2001, 2002, ""},
      {"4242", 0, true, 4242, 4242, ""},
      {"4242:77", 0, true, 4242, 77, ""},
      {"nosuchuser", 0, false, 0, 0, "does not exist"},
      {"root", 0, false, 0, 0, "never runs a server as root"},
      {"0", 0, false, 0, 0, "never runs a server as root"},
      {"5:0", 0, false, 0, 0, "never runs a server as root"},
      {"4242:x", 0, false, 0, 0, "expected UID"},
      {"4242", 1000, false, 0, 0, "needs Bastion to run as root"},
      {"1000", 1000, true, 1000, 1000, ""},
  };
  for (const auto& c : cases) {
    auto id = resolve_identity({}, c.user, "default/s", false, host(c.euid));
    EXPECT_EQ(id.ok(), c.ok) << c.user;
    if (id.ok()) {
      EXPECT_EQ(id->uid, c.uid) << c.user;
      EXPECT_EQ(id->gid, c.gid) << c.user;
      EXPECT_EQ(id->switch_user, c.euid == 0) << c.user;
    } else {
      EXPECT_NE(id.reason().find(c.error), std::string::npos) << c.user << ": " << id.reason();
    }
  }
}

TEST(Identity, TheGatewayDefaultAppliesWhenTheServerSaysNothing) {
  IdentityOptions o;
  o.user = "mcp";
  EXPECT_EQ(resolve_identity(o, "", "default/s", false, host(0))->uid, 2001u);
  EXPECT_EQ(resolve_identity(o, "4000", "default/s", false, host(0))->uid, 4000u);
}

TEST(Identity, UidRanges) {
  EXPECT_EQ(parse_uid_range("100-199"), std::make_pair(100u, 100u));
  EXPECT_FALSE(parse_uid_range("0-10"));
  EXPECT_FALSE(parse_uid_range("10-5"));
  EXPECT_FALSE(parse_uid_range("10"));
  EXPECT_FALSE(parse_uid_range("a-b"));
}

}  // namespace
}  // namespace bastion::sandbox
