#include "app/auth_config.hpp"

#include <gtest/gtest.h>

namespace bastion::app {
namespace {

std::string error_of(const std::string& yaml, SignInPages pages = SignInPages::kRead) {
  try {
    read_auth_section(config::Document::parse(yaml, "c.yaml"), "/data", pages);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(AuthSection, AbsentMeansNoAuthorizationServer) {
  EXPECT_FALSE(read_auth_section(config::Document::parse("log: {level: info}\n", "c.yaml"), "/d"));
}

TEST(AuthSection, DefaultsComeFromTheDataDirectoryAndTheBoundAddress) {
  auto s = read_auth_section(config::Document::parse("auth: {}\n", "c.yaml"), "/data");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->options.data_dir, "/data/auth");
  EXPECT_EQ(s->options.issuer, "");  // filled in with local_issuer once bound
  EXPECT_FALSE(s->login);
  EXPECT_EQ(local_issuer("0.0.0.0", 8080), "http://127.0.0.1:8080");
  EXPECT_EQ(local_issuer("::1", 9), "http://[::1]:9");
  EXPECT_EQ(local_issuer("10.1.2.3", 1), "http://10.1.2.3:1");
}

TEST(AuthSection, SignInPagesAreReadFromTheSameSection) {
  auto s = read_auth_section(
      config::Document::parse(
          "auth:\n  login: {session_lifetime: 600}\n  access: {users: {alice: [mcp.access]}}\n",
          "c.yaml"),
      "/data");
  ASSERT_TRUE(s && s->login);
  EXPECT_EQ(s->login->session_lifetime.count(), 600);
  EXPECT_EQ(s->access.scopes_for("alice", {}), (std::vector<std::string>{"mcp.access"}));
}

TEST(AuthSection, MistakesNameTheirLine) {
  EXPECT_EQ(
      error_of("auth:\n  hash_thread: 2\n").rfind("c.yaml:2:16: unknown key 'hash_thread'", 0), 0u);
  EXPECT_EQ(error_of("auth: 5\n").rfind("c.yaml:1:7: must be a mapping", 0), 0u);
  EXPECT_EQ(error_of("auth:\n").rfind("c.yaml", 0), 0u);
  EXPECT_NE(error_of("auth:\n  login: {session_lifetme: 1}\n").find("c.yaml:2:"),
            std::string::npos);
  EXPECT_NE(error_of("auth:\n  access: {user: {}}\n").find("c.yaml:2:"), std::string::npos);
  // Commands that never show a sign-in page accept its keys unread, but not typos.
  EXPECT_EQ(error_of("auth:\n  login: {session_lifetme: 1}\n", SignInPages::kSkip), "");
  EXPECT_NE(error_of("auth:\n  logn: {}\n", SignInPages::kSkip).find("unknown key 'logn'"),
            std::string::npos);
}

}  // namespace
}  // namespace bastion::app
