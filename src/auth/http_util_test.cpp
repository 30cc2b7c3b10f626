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

TEST(HttpUtil, BasicCredentials) {
  struct Case {
    const char* value;
    std::optional<BasicCredentials> want;  // nullopt: malformed
    bool not_basic = false;
  };
  // base64("client:s3cret") = Y2xpZW50OnMzY3JldA==; base64("a%2Bb:c+d") =
  // YSUyQmI6Yytk; base64(":x") = Ong=; base64("id") = aWQ=
  const Case cases[] = {
      {"Basic Y2xpZW50OnMzY3JldA==", BasicCredentials{"client", "s3cret"}},
      {" basic \tY2xpZW50OnMzY3JldA== ", BasicCredentials{"client", "s3cret"}},
      {"Basic YSUyQmI6Yytk", BasicCredentials{"a+b", "c d"}},  // form-urlencoded parts
      {"Basic Ong=", std::nullopt},                            // empty id
      {"Basic aWQ=", std::nullopt},                            // no colon
      {"Basic Y2xpZW50OnMzY3JldA", std::nullopt},              // padding missing
      {"Basic Y2xpZW50OnMzY3JldA-=", std::nullopt},            // URL alphabet
      {"Basic", std::nullopt, true},
      {"Bearer Y2xpZW50OnMzY3JldA==", std::nullopt, true},
      {"", std::nullopt, true},
  };
  for (const auto& c : cases) {
    auto r = parse_basic_credentials(c.value);
    if (c.want) {
      ASSERT_TRUE(r) << c.value;
      EXPECT_EQ(r->id, c.want->id) << c.value;
      EXPECT_EQ(r->secret, c.want->secret) << c.value;
    } else {
      ASSERT_FALSE(r) << c.value;
      EXPECT_EQ(r.error(), c.not_basic ? BasicError::kNotBasic : BasicError::kMalformed)
          << c.value;
    }
  }
}

TEST(HttpUtil, PlainBasicKeepsTheTextAsSent) {
  // RFC 7617 (the test login's user and password): no form-decoding.
  auto r = parse_basic("BASIC YSUyQmI6Yytk");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, "a%2Bb");
  EXPECT_EQ(r->secret, "c+d");
  auto empty_user = parse_basic("Basic Ong=");  // ":x": an empty user-id is the caller's call
  ASSERT_TRUE(empty_user);
  EXPECT_EQ(empty_user->secret, "x");
  EXPECT_EQ(parse_basic("Basic aWQ=").error(), BasicError::kMalformed);
  EXPECT_EQ(parse_basic("Digest x").error(), BasicError::kNotBasic);
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
