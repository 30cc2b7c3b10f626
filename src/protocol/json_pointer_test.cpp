#include "protocol/json_pointer.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace bastion::protocol {
namespace {

TEST(JsonPointer, EscapesTildeAndSlash) {
  EXPECT_EQ(json_pointer_token("plain"), "plain");
  EXPECT_EQ(json_pointer_token(""), "");
  EXPECT_EQ(json_pointer_token("a/b~c"), "a~1b~0c");
  // "~1" must stay two characters of the key, not become '/'.
  EXPECT_EQ(json_pointer_token("~1"), "~01");
}

TEST(JsonPointer, TokensAddressTheirMemberInBoostJson) {
  auto v = boost::json::parse(R"({"a/b": {"~x": 1}, "a": {"b": 2}})");
  std::string p = "/" + json_pointer_token("a/b") + "/" + json_pointer_token("~x");
  EXPECT_EQ(v.at_pointer(p).as_int64(), 1);
}

}  // namespace
}  // namespace bastion::protocol
