#include "login/access.hpp"

#include <gtest/gtest.h>

#include "login/consents.hpp"
#include "login/options.hpp"
#include "login/throttle.hpp"
#include "storage/temp_dir.hpp"

namespace bastion::login {
namespace {

// `auth.<section>` of a configuration whose auth section is `yaml` (flow style).
template <class T, class F>
T read_section(const std::string& section, const std::string& yaml, F f) {
  auto doc = config::Document::parse("auth:\n  " + section + ": " + yaml + "\n", "c.yaml");
  return f(config::Reader(doc, "/auth/" + section));
}

Access access(const std::string& yaml) {
  return read_section<Access>("access", yaml, [](config::Reader r) { return Access::read(r); });
}

LoginOptions login(const std::string& yaml) {
  return read_section<LoginOptions>("login", yaml,
                                    [](config::Reader r) { return read_login_options(r); });
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Access, UsersAndGroupsMapToScopes) {
  auto a = access(R"({
    "default_scopes": ["mcp:tool:time/now"],
    "users": {"alice": ["mcp.access"], "corp|42": ["mcp:server:db"]},
    "groups": {"eng": {"members": ["bob"], "scopes": ["mcp:server:github"]},
               "ops": {"scopes": ["mcp:server:k8s"]}}})");
  EXPECT_EQ(a.scopes_for("alice"), (std::vector<std::string>{"mcp.access", "mcp:tool:time/now"}));
  EXPECT_EQ(a.scopes_for("bob"),
            (std::vector<std::string>{"mcp:server:github", "mcp:tool:time/now"}));
  // A federated user's claimed groups count only when configured.
  EXPECT_EQ(a.scopes_for("corp|42", {"ops", "admins"}),
            (std::vector<std::string>{"mcp:server:db", "mcp:server:k8s", "mcp:tool:time/now"}));
  EXPECT_EQ(a.scopes_for("nobody"), (std::vector<std::string>{"mcp:tool:time/now"}));
  EXPECT_EQ(a.groups_of("bob"), (std::vector<std::string>{"eng"}));
}

TEST(Access, MayGrantOnlyWhatIsHeld) {
  std::vector<std::string> held{"mcp:server:github"};
  EXPECT_TRUE(may_grant(held, "mcp:server:github"));
  EXPECT_TRUE(may_grant(held, "mcp:tool:github/create_issue"));
  EXPECT_TRUE(may_grant(held, "offline_access"));
  EXPECT_FALSE(may_grant(held, "mcp.access"));
  EXPECT_FALSE(may_grant(held, "mcp:server:githubx"));
  EXPECT_FALSE(may_grant({}, "mcp:server:github"));
}

TEST(Access, BadConfigurationNamesTheLineAndKey) {
  auto msg = [](const char* text) { return error_of([&] { access(text); }); };
  EXPECT_EQ(msg(R"({"users": {"alice": "mcp.access"}})"),
            "c.yaml:2:31: must be a list of strings (auth.access.users.alice)");
  EXPECT_NE(msg(R"({"groups": {"g": {"member": []}}})").find("unknown key 'member'"),
            std::string::npos);
  EXPECT_NE(msg(R"({"user": {}})").find("unknown key 'user'"), std::string::npos);
  EXPECT_NE(msg(R"({"users": {"a": ["has space"]}})").find("(auth.access.users.a)"),
            std::string::npos);
  EXPECT_NE(msg(R"({"groups": {"g": 5}})").find("must be a mapping"), std::string::npos);
}

TEST(LoginOptions, ParsesAndRefuses) {
  auto o = login(R"({"session_lifetime": 600, "throttle": {"per_user": 3}})");
  EXPECT_EQ(o.session_lifetime.count(), 600);
  EXPECT_EQ(o.throttle.per_user, 3);
  EXPECT_EQ(o.throttle.per_source, 20);
  EXPECT_EQ(login("{}").session_lifetime.count(), 12 * 3600);
  auto msg = [](const char* text) { return error_of([&] { login(text); }); };
  EXPECT_NE(msg(R"({"session_lifetme": 1})").find("unknown key 'session_lifetme'"),
            std::string::npos);
  EXPECT_NE(msg(R"({"session_lifetime": 1})").find("(auth.login.session_lifetime)"),
            std::string::npos);
  EXPECT_NE(msg(R"({"local_users": false})").find("needs at least one provider"),
            std::string::npos);
  EXPECT_NE(msg(R"({"throttle": {"per_usr": 1}})").find("(auth.login.throttle.per_usr)"),
            std::string::npos);
  // A provider on plain http elsewhere than loopback is refused.
  EXPECT_NE(msg(R"({"providers": [{"name": "corp", "issuer": "http://idp.example",
                    "client_id": "x", "client_secret_file": "/nonexistent"}]})")
                .find("must be an https URL (http only on a loopback address) "
                      "(auth.login.providers.0.issuer)"),
            std::string::npos);
}

TEST(Throttle, LocksANameAfterItsFailuresUntilTheWindowPasses) {
  std::int64_t now = 1000;
  Throttle t({.per_user = 3, .per_source = 5, .window = 60}, [&] { return now; });
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.wait("alice", "1.2.3.4"), 0);
    t.failed("alice", "1.2.3.4");
  }
  EXPECT_EQ(t.wait("alice", "5.6.7.8"), 60);  // the name is locked from anywhere
  EXPECT_EQ(t.wait("bob", "5.6.7.8"), 0);
  t.failed("bob", "1.2.3.4");
  t.failed("carol", "1.2.3.4");
  EXPECT_GT(t.wait("dave", "1.2.3.4"), 0);  // the source is locked for any name
  now += 61;
  EXPECT_EQ(t.wait("alice", "1.2.3.4"), 0);
  // An unknown source ("") is no bucket: failures of others do not lock anyone.
  for (int i = 0; i < 10; ++i) t.failed("user" + std::to_string(i), "");
  EXPECT_EQ(t.wait("erin", ""), 0);
  t.failed("bob", "9.9.9.9");
  t.succeeded("bob");
  EXPECT_EQ(t.wait("bob", "9.9.9.8"), 0);
}

TEST(Consents, RememberFindListForget) {
  storage::TempDir tmp;
  std::int64_t now = 1000;
  ConsentStore s(tmp.path() / "consents", [&] { return now; });
  ASSERT_TRUE(s.remember({"alice", "app", "App", "127.0.0.1", {"mcp.access"}, 1000, 2000}).ok());
  ASSERT_TRUE(s.remember({"alice", "other", "Other", "x.example", {"a"}, 1001, 2000}).ok());
  ASSERT_TRUE(s.remember({"bob", "app", "App", "127.0.0.1", {"b"}, 1000, 2000}).ok());
  auto k = s.find("alice", "app");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->scopes, std::vector<std::string>{"mcp.access"});
  EXPECT_FALSE(s.find("alice", "nope"));
  auto mine = s.of("alice");
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].client_id, "other");  // newest first
  EXPECT_TRUE(s.forget("alice", "app"));
  EXPECT_FALSE(s.forget("alice", "app"));
  EXPECT_FALSE(s.find("alice", "app"));
  EXPECT_TRUE(s.find("bob", "app"));
  now = 2001;  // expired
  EXPECT_FALSE(s.find("bob", "app"));
}

}  // namespace
}  // namespace bastion::login
