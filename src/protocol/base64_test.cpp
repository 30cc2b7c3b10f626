#include "protocol/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace bastion::protocol {
namespace {

TEST(Base64, BytesOutsideTheAlphabetAreRefused) {
  // fuzz/jwk found that libsodium 1.0.18 decodes any byte >= 0x80 as a
  // letter: "\xc6w" read as "\xff", a second encoding of what "_w" encodes.
  EXPECT_EQ(*base64url_nopad_decode("_w"), "\xff");
  for (int c = 0x80; c <= 0xff; ++c) {
    std::string hi(1, static_cast<char>(c));
    EXPECT_FALSE(base64url_nopad_decode(hi + "w")) << c;
    EXPECT_FALSE(base64url_nopad_decode("AA" + hi + "w")) << c;
    EXPECT_FALSE(base64url_decode(hi + "w==")) << c;
    EXPECT_FALSE(base64_decode("AAA" + hi)) << c;
  }
}

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
