// Attacks on the recognizers: spellings meant to slip a value past them
// (full-width characters, invisible characters, dash variants, numbers,
// a space before the honorific), and look-alikes they must not report
// (version numbers, SSH remotes, words ending in 님/씨, digits in hashes).
#include <gtest/gtest.h>

#include "pii/mask.hpp"
#include "pii/scanner.hpp"
#include "pii/test_util.hpp"

namespace bastion::pii {
namespace {

using testing::scanner;

struct Evasion {
  const char* name;
  std::string text;
  std::string type;
  std::string original;  // the bytes of `text` the finding must cover
  std::string masked;    // mask_text() of the whole text
};

const Evasion kEvasions[] = {
    {"full-width mobile", "전화 ０１０－１２３４－５６７８ 주세요", "phone",
     "０１０－１２３４－５６７８", "전화 010-****-5678 주세요"},
    {"full-width at sign", "mail kim＠example.com now", "email", "kim＠example.com",
     "mail ***@example.com now"},
    {"full-width everything", "ｋｉｍ＠ｅｘａｍｐｌｅ．ｃｏｍ", "email",
     "ｋｉｍ＠ｅｘａｍｐｌｅ．ｃｏｍ", "***@example.com"},
    {"zero-width space in a phone", "call 010\u200B-1234\u200B-5678 now", "phone",
     "010\u200B-1234\u200B-5678", "call 010-****-5678 now"},
    {"zero-width space in an email", "kim\u200B@exam\u200Bple.com", "email",
     "kim\u200B@exam\u200Bple.com", "***@example.com"},
    {"soft hyphen in an rrn", "rrn 900101\u00AD-1234568 ok", "rrn", "900101\u00AD-1234568",
     "rrn 900101-1****** ok"},
    {"bidi override around an rrn", "id \u202E900101-1234568\u202C ok", "rrn", "900101-1234568",
     "id \u202E900101-1******\u202C ok"},
    {"bidi isolate inside a card", "card 4111 \u20661111\u2069 1111 1111 x", "credit_card",
     "4111 \u20661111\u2069 1111 1111", "card **** **** **** 1111 x"},
    {"unicode tags in an email", "kim\U000E0020\U000E0041@example.com", "email",
     "kim\U000E0020\U000E0041@example.com", "***@example.com"},
    {"en dash in an rrn", "주민번호 900101\u20131234568", "rrn", "900101\u20131234568",
     "주민번호 900101-1******"},
    {"minus sign in a phone", "tel 010\u22121234\u22125678", "phone", "010\u22121234\u22125678",
     "tel 010-****-5678"},
    {"full-width hyphen in an rrn", "900101\uFF0D1234568", "rrn", "900101\uFF0D1234568",
     "900101-1******"},
    {"em dash in a phone", "010\u20141234\u20145678", "phone", "010\u20141234\u20145678",
     "010-****-5678"},
    {"hyphen in a card", "5500\u20100000\u20100000\u20100004", "credit_card",
     "5500\u20100000\u20100000\u20100004", "****-****-****-0004"},
    {"arabic-indic digits", "\u0669\u0660\u0660\u0661\u0660\u0661-1234568", "rrn",
     "\u0669\u0660\u0660\u0661\u0660\u0661-1234568", "900101-1******"},
    {"combining marks between digits", "0\u03321\u03320\u0332-1234-5678", "phone",
     "0\u03321\u03320\u0332-1234-5678", "010-****-5678"},
    {"no-break spaces in a card", "4111\u00A01111\u00A01111\u00A01111", "credit_card",
     "4111\u00A01111\u00A01111\u00A01111", "**** **** **** 1111"},
    {"space before the honorific", "어제 김철수 씨가 왔다", "korean_name", "김철수",
     "어제 김** 씨가 왔다"},
    {"no-break space before the honorific", "김철수\u00A0님께", "korean_name", "김철수",
     "김**\u00A0님께"},
    {"decomposed hangul name", "\u1100\u1175\u11B7\u110E\u1165\u11AF\u1109\u116E님", "korean_name",
     "\u1100\u1175\u11B7\u110E\u1165\u11AF\u1109\u116E", "김**님"},
};

TEST(PiiEvasion, FoundInTheOriginalAndMasked) {
  for (const auto& c : kEvasions) {
    auto f = scanner().scan(c.text);
    ASSERT_EQ(f.size(), 1u) << c.name;
    EXPECT_EQ(f[0].type, c.type) << c.name;
    EXPECT_EQ(c.text.substr(f[0].begin, f[0].end - f[0].begin), c.original) << c.name;
    EXPECT_EQ(mask_text(c.text, f), c.masked) << c.name;
  }
}

struct Num {
  std::string digits;
  std::string type;  // "" = nothing
  std::string normalized;
};

const Num kNumbers[] = {
    {"9001011234568", "rrn", ""},  // an RRN as a number
    {"4111111111111111", "credit_card", ""},
    {"5500000000000004", "credit_card", ""},
    {"1012345678", "phone", "01012345678"},  // a mobile without its leading 0
    {"821012345678", "phone", "+821012345678"},
    {"101011123456", "", ""},  // 12 digits, checksum not valid
    {"1234567", "", ""},
    {"1700000000", "", ""},  // a Unix time
    {"1712345678901", "", ""},
    {"42", "", ""},
    {"18446744073709551615", "", ""},
};

TEST(PiiEvasion, Numbers) {
  // The 12-digit RRN of someone born in 2005 (0 dropped), checksum valid.
  std::string born2005 =
      "050505"
      "3"
      "12345";
  int sum = 0;
  const int w[] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
  for (int i = 0; i < 12; ++i) sum += (born2005[i] - '0') * w[i];
  born2005 += static_cast<char>('0' + (11 - sum % 11) % 10);
  auto r = scanner().scan_number(born2005.substr(1));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, "rrn");
  EXPECT_EQ(r->normalized, born2005);
  for (const auto& n : kNumbers) {
    auto f = scanner().scan_number(n.digits);
    if (n.type.empty()) {
      EXPECT_FALSE(f) << n.digits << " -> " << (f ? f->type : std::string_view());
      continue;
    }
    ASSERT_TRUE(f) << n.digits;
    EXPECT_EQ(f->type, n.type) << n.digits;
    EXPECT_EQ(f->begin, 0u);
    EXPECT_EQ(f->end, n.digits.size());
    EXPECT_EQ(f->normalized, n.normalized) << n.digits;
  }
  EXPECT_FALSE(scanner().scan_number("12a4567890"));
}

// Look-alikes: each text must yield no finding at all.
const std::pair<const char*, std::string> kLookAlikes[] = {
    {"version word", "upgraded to version 1.2.3.4 today"},
    {"version word, capitalised", "Version: 10.0.190.1"},
    {"korean version word", "버전 1.2.3.4 배포"},
    {"build word", "build 4.1.0.2 passed"},
    {"snake_case version key", "app_version=2.4.10.1"},
    {"version suffix", "deployed 1.2.3.4-rc1"},
    {"ssh remote", "git@github.com:org/repo.git"},
    {"ssh remote in prose", "clone git@gitlab.example.com:team/app.git then build"},
    {"host and port", "admin@db.example.com:5432"},
    {"four-syllable word", "김치찌개님"},
    {"four-syllable word, 씨", "김치찌개씨"},
    {"complaint", "민원씨"},
    {"customer, spaced", "고객 님"},
    {"rose seeds", "장미 씨를 심었다"},
    {"seed", "김장씨앗을 샀다"},
    {"wrestling", "이번 장사씨름 대회"},
    {"luhn run in a contiguous hash", "sha deadbeef4111111111111111cafe01"},
    {"luhn run in a grouped fingerprint", "fingerprint 4111 1111 1111 1111 0A2F 33C1 9E0B"},
    {"luhn run after a fingerprint group", "fp: 9E0B 4111 1111 1111 1111 0A2F"},
    {"luhn run between hash parts", "hash a94a8fe5 4111111111111111 ccb19ba6"},
    {"rrn-shaped run between hash parts", "id 3f9ab2c1:9001011234568:77aa01bc"},
};

TEST(PiiEvasion, LookAlikesAreNotReported) {
  for (const auto& [name, text] : kLookAlikes) {
    auto f = scanner().scan(text);
    std::string got;
    if (!f.empty())
      got = std::string(f[0].type) + " '" + text.substr(f[0].begin, f[0].end - f[0].begin) + "'";
    EXPECT_TRUE(f.empty()) << name << ": " << got;
  }
}

// ...while the real values next to them still are.
const std::pair<std::string, std::string> kStillFound[] = {
    {"server at 10.0.0.1 version 2", "ipv4"},
    {"mail git@github.com about it", "email"},
    {"write to a@b.com: thanks", "email"},
    {"mailto:kim@example.com", "email"},
    {"customers://kim@example.com/orders", "email"},
    {"김철수님 안녕하세요", "korean_name"},
    {"남궁민수 씨에게", "korean_name"},
    {"김구씨", "korean_name"},
    {"card 4111 1111 1111 1111 exp 12/29", "credit_card"},
    {"paid with 4111111111111111 added to the order", "credit_card"},
};

TEST(PiiEvasion, RealValuesNextToLookAlikes) {
  for (const auto& [text, type] : kStillFound) {
    auto f = scanner().scan(text);
    ASSERT_EQ(f.size(), 1u) << text;
    EXPECT_EQ(f[0].type, type) << text;
  }
}

}  // namespace
}  // namespace bastion::pii
