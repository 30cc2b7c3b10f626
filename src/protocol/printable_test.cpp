#include "protocol/printable.hpp"

#include <gtest/gtest.h>

namespace bastion::protocol {
namespace {

TEST(Printable, EscapesWhatAReaderCannotSee) {
  EXPECT_EQ(printable("get_weather"), "get_weather");
  EXPECT_EQ(printable(std::string_view("a\0b", 3)), "a\\u0000b");
  EXPECT_EQ(printable("\xe2\x80\xae"
                      "evil"),
            "\\u202eevil");                           // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(printable("\xe2\x80\x8bx"), "\\u200bx");  // ZERO WIDTH SPACE
  EXPECT_EQ(printable("\xf0\x9f\x98\x80"), "\\U0001f600");
  EXPECT_EQ(printable("a\\u0000"), "a\\\\u0000");  // an escape cannot be forged
  EXPECT_EQ(printable("line\nbreak"), "line\\u000abreak");
  EXPECT_EQ(printable("\xff"), "\\u00ff");  // invalid UTF-8 byte
}

TEST(Printable, CutsLongText) {
  std::string big(10000, 'x');
  EXPECT_EQ(printable(big, 5), "xxxxx...(10000 bytes)");
  EXPECT_EQ(printable("abcde", 5), "abcde");
}

}  // namespace
}  // namespace bastion::protocol
