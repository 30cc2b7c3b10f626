#include "auth/form.hpp"

#include <gtest/gtest.h>

#include "protocol/form.hpp"

namespace bastion::auth {
namespace {

TEST(OAuthForm, DecodesPlusAndPercentAndRejectsBadEscapes) {
  EXPECT_EQ(protocol::form_decode("a+b%20c%2B"), "a b c+");
  EXPECT_FALSE(protocol::form_decode("%"));
  EXPECT_FALSE(protocol::form_decode("%2"));
  EXPECT_FALSE(protocol::form_decode("%zz"));
  EXPECT_EQ(form_encode("a b+c/~"), "a+b%2Bc%2F%7E");
  EXPECT_EQ(protocol::form_decode(form_encode("x:y=z&\xff")), "x:y=z&\xff");
}

TEST(OAuthForm, BasicAuthorizationFormEncodesThenBase64s) {
  // RFC 6749 §2.3.1: "a b" and "c:d" are form-encoded first, so the colon
  // that separates them stays unambiguous.
  EXPECT_EQ(basic_authorization("a b", "c:d"), "Basic YStiOmMlM0Fk");
}

TEST(OAuthForm, RepeatedParametersAreRefusedAndEmptyOnesOmitted) {
  std::string err;
  auto f = parse_form("grant_type=client_credentials&scope=&&resource=x%3Dy", &err);
  ASSERT_TRUE(f) << err;
  EXPECT_EQ(f->size(), 2u);
  ASSERT_NE(form_get(*f, "resource"), nullptr);
  EXPECT_EQ(*form_get(*f, "resource"), "x=y");
  EXPECT_EQ(form_get(*f, "scope"), nullptr);
  EXPECT_FALSE(parse_form("a=1&a=2", &err));
  EXPECT_NE(err.find("repeated"), std::string::npos);
  EXPECT_FALSE(parse_form("a=1&a=", &err));
  EXPECT_FALSE(parse_form("a=%", &err));
  EXPECT_EQ(err, "malformed form encoding");
  // Raw characters a URL would escape are taken as they are, as before.
  auto raw = parse_form("scope=a b&name=J\xc3\xa9", &err);
  ASSERT_TRUE(raw) << err;
  EXPECT_EQ(*form_get(*raw, "scope"), "a b");
  EXPECT_EQ(*form_get(*raw, "name"), "J\xc3\xa9");
  // No field count limit here: the endpoints bound the body's bytes.
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "p" + std::to_string(i) + "=1&";
  auto big = parse_form(many, &err);
  ASSERT_TRUE(big) << err;
  EXPECT_EQ(big->size(), 1000u);
}

}  // namespace
}  // namespace bastion::auth
