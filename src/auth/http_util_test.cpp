#include "auth/http_util.hpp"

#include <gtest/gtest.h>

namespace bastion::auth {
namespace {

TEST(HttpUtil, HeaderValueParsing) {
  EXPECT_TRUE(iequals("Bearer", "bEARER"));
  EXPECT_FALSE(iequals("Bearer", "Bearer "));
  EXPECT_EQ(trim(" \t x y\t "), "x y");
  EXPECT_EQ(trim("   "), "");
}

TEST(HttpUtil, JsonResponsesAndMethodNotAllowed) {
  Request req{http::verb::get, "/x", 11};
  req.keep_alive(false);
  auto r = json_response(req, http::status::ok, boost::json::object{{"a", 1}}, true);
  EXPECT_EQ(r.body(), R"({"a":1})");
  EXPECT_EQ(r[http::field::content_type], "application/json");
  EXPECT_EQ(r[http::field::cache_control], "no-store");
  EXPECT_EQ(r[http::field::pragma], "no-cache");
  EXPECT_FALSE(r.keep_alive());
  EXPECT_EQ(json_response(req, http::status::ok, {}, false).count(http::field::cache_control), 0u);
  auto m = method_not_allowed(req, "GET, POST");
  EXPECT_EQ(m.result(), http::status::method_not_allowed);
  EXPECT_EQ(m[http::field::allow], "GET, POST");
  EXPECT_EQ(boost::json::parse(m.body()).at("error"), "invalid_request");
}

}  // namespace
}  // namespace bastion::auth
