#include "protocol/base64.hpp"

#include <gtest/gtest.h>

namespace bastion::protocol {
namespace {

TEST(Base64, StrictCodecs) {
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8=");
  EXPECT_EQ(base64url_nopad_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(*base64url_decode("-_8="), "\xfb\xff");
  EXPECT_EQ(*base64url_nopad_decode("-_8"), "\xfb\xff");
  EXPECT_FALSE(base64url_decode("-_8"));   // padding required
  EXPECT_FALSE(base64url_decode("+/8="));  // other alphabet
  EXPECT_FALSE(base64_decode("-_8="));
  EXPECT_FALSE(base64_decode("aGVsbG9="));   // non-zero unused bits
  EXPECT_FALSE(base64_decode("aGVs bG8="));  // whitespace
  EXPECT_FALSE(base64url_nopad_decode("-_8="));
  EXPECT_EQ(*base64_decode(""), "");
  EXPECT_EQ(hex_encode("\x01\xab"), "01ab");
  EXPECT_EQ(*hex_decode("01AB"), "\x01\xab");
  EXPECT_FALSE(hex_decode("0"));
  EXPECT_FALSE(hex_decode("0g"));
}

}  // namespace
}  // namespace bastion::protocol
