#include "protocol/url_display.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace bastion::protocol {
namespace {

TEST(DisplayUrl, HidesUserinfoQueryAndFragment) {
  EXPECT_EQ(display_url("http://127.0.0.1:9000/mcp"), "http://127.0.0.1:9000/mcp");
  EXPECT_EQ(display_url("https://api.example/mcp?api_key=sk-live-123456"),
            "https://api.example/mcp?[redacted]");
  EXPECT_EQ(display_url("http://user:hunter2pass@host:81/p/q?x=1#frag"),
            "http://[redacted]@host:81/p/q?[redacted]");
  EXPECT_EQ(display_url("http://token@host/"), "http://[redacted]@host/");
  EXPECT_EQ(display_url("http://host/mcp#sk-in-fragment"), "http://host/mcp");
}

TEST(DisplayUrl, TextThatIsNotAUrlLosesTheSameParts) {
  // An invalid URL is echoed in errors: its credentials must not be.
  EXPECT_EQ(display_url("http://us er:pa ss@host/x y?key=s e"),
            "http://[redacted]@host/x y?[redacted]");
  EXPECT_EQ(display_url("not a url ?secret"), "not a url ?[redacted]");
  EXPECT_EQ(display_if_url("not a url"), std::nullopt);
  EXPECT_EQ(display_if_url("mailto:a@b"), std::nullopt);  // no authority: not shown as one
  EXPECT_EQ(display_if_url("ftp://u:p@h/x?y"), "ftp://[redacted]@h/x?[redacted]");
}

TEST(DisplayUrl, CredentialsAreTheHiddenParts) {
  auto c = url_credentials("http://bob:p%40ss-word@host/mcp?api_key=sk%2Dlive&v=1");
  EXPECT_EQ(c.whole, (std::vector<std::string>{"bob:p%40ss-word", "p%40ss-word", "p@ss-word",
                                               "api_key=sk%2Dlive&v=1"}));
  EXPECT_EQ(c.query_values, (std::vector<std::string>{"sk%2Dlive", "sk-live", "1", "1"}));
  for (const char* url : {"http://host/mcp", "::not a url"}) {
    EXPECT_TRUE(url_credentials(url).whole.empty()) << url;
    EXPECT_TRUE(url_credentials(url).query_values.empty()) << url;
  }
}

}  // namespace
}  // namespace bastion::protocol
