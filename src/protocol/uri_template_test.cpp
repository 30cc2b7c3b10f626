#include "protocol/uri_template.hpp"

#include <gtest/gtest.h>

namespace bastion::protocol {
namespace {

TEST(UriTemplate, MatchesLevelOneTemplates) {
  std::map<std::string, std::string> vars;
  EXPECT_TRUE(match_uri_template("test://template/{id}/data", "test://template/42/data", &vars));
  EXPECT_EQ(vars["id"], "42");
  EXPECT_FALSE(match_uri_template("test://template/{id}/data", "test://template//data", nullptr));
  EXPECT_FALSE(
      match_uri_template("test://template/{id}/data", "test://template/a/b/data", nullptr));
  EXPECT_TRUE(match_uri_template("file:///{path}", "file:///x", nullptr));
}

TEST(UriTemplate, LiteralsMustMatchExactly) {
  std::map<std::string, std::string> vars;
  EXPECT_TRUE(match_uri_template("a://{x}.{y}", "a://1.2", &vars));
  EXPECT_EQ(vars["x"], "1");
  EXPECT_EQ(vars["y"], "2");
  EXPECT_TRUE(match_uri_template("a://fixed", "a://fixed", nullptr));
  EXPECT_FALSE(match_uri_template("a://fixed", "a://fixed/more", nullptr));
  EXPECT_FALSE(match_uri_template("a://fixed/more", "a://fixed", nullptr));
  EXPECT_FALSE(match_uri_template("a://{unclosed", "a://x", nullptr));
}

}  // namespace
}  // namespace bastion::protocol
