#include "pii/log_sanitize.hpp"

#include <gtest/gtest.h>

#include <string>

namespace bastion::pii {
namespace {

struct LogCase {
  const char* name;
  std::string line;
  std::string logged;
};

// What reaches Bastion's log for lines an upstream writes to its stderr.
const LogCase kLogCases[] = {
    {"plain", "listening on stdio", "listening on stdio"},
    {"korean", "서버 시작됨", "서버 시작됨"},
    {"pii masked", "lookup rrn 900101-1234568 for kim@example.com",
     "lookup rrn 900101-1****** for ***@example.com"},
    {"full-width pii masked", "tel ０１０－１２３４－５６７８", "tel 010-****-5678"},
    {"carriage return cannot overwrite the line", "ok\r[error] forged", "ok\\r[error] forged"},
    {"newline cannot start a forged line", "a\n2026-01-01 [info] forged",
     "a\\n2026-01-01 [info] forged"},
    {"terminal colours are escaped", "\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"},
    {"title-setting OSC is escaped", "\x1b]0;pwned\x07x", "\\x1b]0;pwned\\x07x"},
    {"bell, backspace, nul, del", std::string("a\x07\x08\x00\x7f", 5) + "b",
     "a\\x07\\x08\\x00\\x7fb"},
    {"tab", "a\tb", "a\\tb"},
    {"c1 controls", "a\u0085b\u009bc", "a\\u0085b\\u009bc"},
    {"bidi override", "user \u202Egnp.exe", "user \\u202egnp.exe"},
    {"bidi isolates and marks", "\u2066x\u2069\u200E\u200F\u061C",
     "\\u2066x\\u2069\\u200e\\u200f\\u061c"},
    {"line separators", "a\u2028b\u2029c", "a\\u2028b\\u2029c"},
    {"backslash cannot fake an escape", "C:\\x1b", "C:\\\\x1b"},
    {"invalid utf-8", std::string("a\xff\xc3(b", 5), "a\\xff\\xc3(b"},
    {"a colour code inside a phone", "tel 010\x1b[0m-1234-5678", "tel 010-****-5678"},
    {"a colour code glued before a phone", "id\x1b[1m010-1234-5678\x1b[0m",
     "id\\x1b[1m010-****-5678\\x1b[0m"},
    {"zero-width space inside an email", "mail kim\u200B@example.com", "mail ***@example.com"},
};

TEST(PiiLogSanitize, Table) {
  for (const auto& c : kLogCases) EXPECT_EQ(sanitize_log_line(c.line), c.logged) << c.name;
}

// Whatever the input, the output holds no byte below 0x20 and no DEL.
TEST(PiiLogSanitize, NoControlByteSurvives) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  for (const std::string& s : {all, all + all, std::string("\x1b[") + all}) {
    std::string out = sanitize_log_line(s);
    for (char c : out) {
      const auto b = static_cast<unsigned char>(c);
      EXPECT_TRUE(b >= 0x20 && b != 0x7F) << static_cast<int>(b);
    }
  }
}

}  // namespace
}  // namespace bastion::pii
