#include "web/cookies.hpp"

#include <gtest/gtest.h>

namespace bastion::web {
namespace {

namespace http = boost::beast::http;

TEST(Cookies, PolicyFollowsTheBaseUrl) {
  auto https = cookie_policy("https://bastion.example.com");
  EXPECT_TRUE(https.secure);
  EXPECT_TRUE(https.host_only);
  EXPECT_EQ(https.path, "/");
  auto sub = cookie_policy("https://example.com/bastion/");
  EXPECT_TRUE(sub.secure);
  EXPECT_FALSE(sub.host_only);  // __Host- needs Path=/
  EXPECT_EQ(sub.path, "/bastion/");
  auto local = cookie_policy("http://127.0.0.1:8080");
  EXPECT_FALSE(local.secure);
  EXPECT_FALSE(local.host_only);
  EXPECT_EQ(local.path, "/");
}

TEST(Cookies, SetCookieCarriesTheSafeAttributes) {
  auto https = cookie_policy("https://b.example");
  EXPECT_EQ(set_cookie(https, "sid", "abc",
                       {.same_site = SameSite::kLax, .max_age = std::chrono::seconds(60)}),
            "__Host-sid=abc; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax");
  auto local = cookie_policy("http://127.0.0.1:1");
  EXPECT_EQ(set_cookie(local, "sid", "abc"), "sid=abc; Path=/; HttpOnly; SameSite=Strict");
  EXPECT_EQ(clear_cookie(https, "sid"),
            "__Host-sid=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax");
}

TEST(Cookies, ParsesEveryCookieHeaderAndSkipsJunk) {
  http::request_header<> req;
  req.insert(http::field::cookie, "a=1; b=\"2\"; bad; c=x y; d=");
  req.insert(http::field::cookie, "a=3;e=4");
  auto all = parse_cookies(req);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(all[1].second, "2");
  EXPECT_EQ(all[2].first, "d");
  EXPECT_EQ(get_cookie(req, "a"), "1");  // the first one wins
  EXPECT_EQ(get_cookie(req, "e"), "4");
  EXPECT_FALSE(get_cookie(req, "c"));  // a space is no cookie-octet
  EXPECT_FALSE(get_cookie(req, "zz"));
}

}  // namespace
}  // namespace bastion::web
