#include "sandbox/environment.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace bastion::sandbox {
namespace {

TEST(Environment, FixedPathPrivateHomeNothingElseOfTheHost) {
  ::setenv("AWS_SECRET_ACCESS_KEY", "host-only", 1);
  ::setenv("LANG", "C.UTF-8", 1);
  auto env = server_environment({{"API_KEY", "k"}}, "/tmp");
  EXPECT_EQ(env.at("PATH"), "/usr/local/bin:/usr/bin:/bin");
  EXPECT_EQ(env.at("HOME"), "/tmp");
  EXPECT_EQ(env.at("LANG"), "C.UTF-8");
  EXPECT_EQ(env.at("API_KEY"), "k");
  EXPECT_EQ(env.count("AWS_SECRET_ACCESS_KEY"), 0u);
  EXPECT_EQ(env.count("USER"), 0u);
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
}

TEST(Environment, TheServersOwnSettingsWinOnPurpose) {
  auto env = server_environment({{"PATH", "/opt/tool/bin"}, {"HOME", "/srv/home"}}, "/tmp");
  EXPECT_EQ(env.at("PATH"), "/opt/tool/bin");
  EXPECT_EQ(env.at("HOME"), "/srv/home");
}

}  // namespace
}  // namespace bastion::sandbox
