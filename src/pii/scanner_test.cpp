#include "pii/scanner.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "pii/validators.hpp"
#include "pii/test_util.hpp"

namespace bastion::pii {
namespace {

using testing::scanner;

struct ScanCase {
  std::string text;
  std::string type;   // expected type ("" = no finding of any kind)
  std::string value;  // expected matched bytes
};

// Table: each text must yield exactly one finding of `type` covering `value`,
// or (type empty) nothing at all.
const ScanCase kScanCases[] = {
    // email
    {"contact alice.smith+tag@mail.example.co.kr today", "email",
     "alice.smith+tag@mail.example.co.kr"},
    {"메일은 hong@example.com 으로", "email", "hong@example.com"},
    {"user@localhost is not routable", "", ""},
    {"@mention and a@b.c", "", ""},
    {"trailing dot bob@example.org.", "email", "bob@example.org"},
    // The domain's tests: 16 bytes or fewer with 16 more in the text (one
    // mask each), or not (a loop); either way the same rules.
    {"sixteen kim@abcdefghijk.com and more text here", "email", "kim@abcdefghijk.com"},
    {"seventeen kim@abcdefghijkl.com and more text here", "email", "kim@abcdefghijkl.com"},
    {"at the end kim@ab.example.com", "email", "kim@ab.example.com"},
    {"double dot kim@example..com and more text here", "", ""},
    {"double dot kim@abcdefghijk..example.com more text", "", ""},
    {"digit tld kim@example.c0m and more text here", "", ""},
    {"digit tld kim@abcdefghijklmnop.c0m and more text", "", ""},
    {"short tld kim@example.c and more text here", "", ""},
    {"short tld kim@abcdefghijklmnopq.c and more text", "", ""},
    {"no dot kim@examplecom and more text here", "", ""},
    {"no dot kim@abcdefghijklmnopqrstu and more text", "", ""},
    {"no dot at the end kim@examplecom", "", ""},
    {"tld 14 kim@a.abcdefghijklmn and more text here", "email", "kim@a.abcdefghijklmn"},
    // Korean mobiles and other numbers
    {"전화 010-1234-5678 주세요", "phone", "010-1234-5678"},
    {"call 01012345678 now", "phone", "01012345678"},
    {"old 011-234-5678 number", "phone", "011-234-5678"},
    {"dots 010.1234.5678 ok", "phone", "010.1234.5678"},
    {"intl +82 10-1234-5678 ok", "phone", "+82 10-1234-5678"},
    {"intl +821012345678 ok", "phone", "+821012345678"},
    {"seoul 02-123-4567 office", "phone", "02-123-4567"},
    {"gyeonggi 031-1234-5678 office", "phone", "031-1234-5678"},
    {"voip 070-1234-5678", "phone", "070-1234-5678"},
    {"free 080-123-4567", "phone", "080-123-4567"},
    {"seoul (02) 123-4567 office", "phone", "02) 123-4567"},
    {"gyeonggi (031)234-5678.", "phone", "031)234-5678"},
    {"mobile (010) 1234 5678", "phone", "010) 1234 5678"},
    {"list (1) 123-4567 item", "", ""},
    {"sum (12345) 123-4567", "", ""},
    // Grouped like a card but no card: no phone inside it.
    {"card 4413 3862 1881 1891 declined", "", ""},
    {"ref 4413-3862-1881-1891-123 x", "", ""},
    {"card 4111 1111 1111 1111 ok", "credit_card", "4111 1111 1111 1111"},
    {"call 1588-1234 then 4413 3862", "phone", "1588-1234"},
    {"service 1588-1234 call", "phone", "1588-1234"},
    {"us +1 415 555 2671 office", "phone", "+1 415 555 2671"},
    {"uk +44 20 7946 0958", "phone", "+44 20 7946 0958"},
    {"code 012-3456-7890 is not a phone", "", ""},
    {"order id 2024-0412-77 shipped", "", ""},
    {"year 2024 and 300 people", "", ""},
    {"hex abc01012345678 id", "", ""},
    // RRN
    {"주민번호 900101-1234568 입니다", "rrn", "900101-1234568"},
    {"contiguous 9001011234568.", "rrn", "9001011234568"},
    {"new-style 200101-3123456 (no checksum)", "rrn", "200101-3123456"},
    {"bad month 901301-1234567", "", ""},
    {"bad day 900230-1234567", "", ""},
    {"bad century digit 900101-9234567", "", ""},
    {"leap 000229-3234567 ok", "rrn", "000229-3234567"},
    {"not leap 010229-3234567", "", ""},
    // cards
    {"visa 4111 1111 1111 1111 exp", "credit_card", "4111 1111 1111 1111"},
    {"mc 5500-0000-0000-0004.", "credit_card", "5500-0000-0000-0004"},
    {"amex 3782 822463 10005 ok", "credit_card", "3782 822463 10005"},
    {"raw 4012888888881881 ok", "credit_card", "4012888888881881"},
    {"bad luhn 4111 1111 1111 1112", "", ""},
    {"bad luhn raw 4012888888881882", "", ""},
    {"key ab12 4111 1111 1111 1111", "", ""},
    {"key 4111 1111 1111 1111 abc1 x", "", ""},
    {"key 4111 1111 1111 1111-abc", "credit_card", "4111 1111 1111 1111"},
    {"card 4111 1111 1111 1111 dead", "credit_card", "4111 1111 1111 1111"},
    {"b12 4111 1111 1111 1111 ok", "credit_card", "4111 1111 1111 1111"},
    // US SSN
    {"ssn 123-45-6789 on file", "ssn", "123-45-6789"},
    {"ssn 000-12-3456", "", ""},
    {"ssn 666-12-3456", "", ""},
    {"ssn 900-12-3456", "", ""},
    {"ssn 123-00-4567", "", ""},
    {"ssn 123-45-0000", "", ""},
    // IBAN
    {"iban DE89370400440532013000 ok", "iban", "DE89370400440532013000"},
    {"iban GB82 WEST 1234 5698 7654 32 ok", "iban", "GB82 WEST 1234 5698 7654 32"},
    {"iban DE88370400440532013000 bad check", "", ""},
    {"iban DE89 3704 0044 0532 0130 00 1234 more", "iban", "DE89 3704 0044 0532 0130 00"},
    {"iban NO93 8601 1117 947 ok, and more text after it", "iban", "NO93 8601 1117 947"},
    {"iban NO93 8601 1117 9470 ok, and more text after it", "", ""},
    {"iban DE89 3704  0044 0532 0130 00 and more text", "", ""},
    {"iban DE89 3704 0044 0532 0130 0 and more text after", "", ""},
    {"iban GB82 WEST 1234 5698 7654 32", "iban", "GB82 WEST 1234 5698 7654 32"},
    // IP
    {"host 192.168.0.1 up", "ipv4", "192.168.0.1"},
    {"host 8.8.8.8.", "ipv4", "8.8.8.8"},
    {"bad 256.1.1.1 addr", "", ""},
    {"version 1.2.3.4.5 is not", "", ""},
    {"FW 1.2.3.4 loaded", "", ""},
    {"Kernel=5.15.0.1 ok", "", ""},
    {"tag: \"1.2.3.4\" ok", "", ""},
    {"from 10.0.0.1 ok", "ipv4", "10.0.0.1"},
    {"dev 10.0.0.1 ok", "ipv4", "10.0.0.1"},
    {"prerelease 10.0.0.1 ok", "ipv4", "10.0.0.1"},
    {"at 10.0.0.1", "ipv4", "10.0.0.1"},
    {"v6 2001:db8::8a2e:370:7334 up", "ipv6", "2001:db8::8a2e:370:7334"},
    {"link fe80::1ff:fe23:4567:890a", "ipv6", "fe80::1ff:fe23:4567:890a"},
    {"time 12:30:45 and std::string", "", ""},
    // Korean names
    {"김철수님 안녕하세요", "korean_name", "김철수"},
    {"어제 박영희씨가 왔다", "korean_name", "박영희"},
    {"남궁민수님께", "korean_name", "남궁민수"},
    {"오늘 날씨가 좋다", "", ""},
    {"요리 솜씨가 좋다", "", ""},
    {"맵씨가 곱다", "", ""},
    {"고객님 감사합니다", "", ""},
    {"선생님 질문 있어요", "", ""},
    {"회장님과 사장님이", "", ""},
    {"여러분 안녕하세요", "", ""},
    {"마음씨가 곱다", "", ""},
    {"철수씨 (no surname)", "", ""},
    // Professions that begin with a surname syllable; real names next to them.
    {"한의사님께 전화드렸습니다", "", ""},
    {"정비사님이 오셨다", "", ""},
    {"은행원님께 여쭤보세요", "", ""},
    {"임원님께 보고", "", ""},
    {"조장님 말씀", "", ""},
    {"김대원님께 보고", "korean_name", "김대원"},
    {"정원사 말고 김정원 씨에게", "korean_name", "김정원"},
    // Two-syllable surnames (a four-syllable name needs one), the particle
    // after the honorific, a stop word that includes its honorific.
    {"선우재덕씨는 왔다", "korean_name", "선우재덕"},
    {"제갈공명님께", "korean_name", "제갈공명"},
    {"김치찌개님 맛있다", "", ""},
    {"박영희님요", "korean_name", "박영희"},
    {"김철수씨앗을 심었다", "", ""},
    {"이번님께", "", ""},
    // secrets
    {"key AKIAIOSFODNN7EXAMPLE here", "aws_access_key", "AKIAIOSFODNN7EXAMPLE"},
    {"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_key",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
    {"Authorization: Bearer abcdef0123456789ABCDEF.xyz", "bearer_token",
     "abcdef0123456789ABCDEF.xyz"},
    {"tok "
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U "
     "end",
     "jwt",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_"
     "XgL0n3I9PlFUP0THsR8U"},
    {"gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 x", "github_token",
     "ghp_abcdefghijklmnopqrstuvwxyz0123456789"},
    {"slack xoxb-1234567890-abcdefghij ok", "slack_token", "xoxb-1234567890-abcdefghij"},
    {"config api_key=sk_live_abc123XYZ", "secret", "sk_live_abc123XYZ"},
    {R"({"password": "hunter2!"})", "secret", "hunter2!"},
    {"Enter your password to continue", "", ""},
    {"the secret: always smile", "", ""},
    {"token_type=bearer", "", ""},
    {"password=${DB_PASSWORD}", "", ""},
    {"a Bearer token is short", "", ""},
    {"ghp_short", "", ""},
};

TEST(PiiScanner, Table) {
  for (const auto& c : kScanCases) {
    auto f = scanner().scan(c.text);
    if (c.type.empty()) {
      std::string got;
      if (!f.empty())
        got =
            std::string(f[0].type) + " '" + c.text.substr(f[0].begin, f[0].end - f[0].begin) + "'";
      EXPECT_TRUE(f.empty()) << c.text << " -> " << got;
      continue;
    }
    ASSERT_EQ(f.size(), 1u) << c.text;
    EXPECT_EQ(f[0].type, c.type) << c.text;
    EXPECT_EQ(c.text.substr(f[0].begin, f[0].end - f[0].begin), c.value) << c.text;
    EXPECT_GT(f[0].confidence, 0.0);
    EXPECT_LE(f[0].confidence, 1.0);
  }
}

// Many stop words (the scanner keeps them in its own hash table): every one
// is refused, a name next to them in the table is still found.
TEST(PiiScanner, ManyStopWords) {
  auto syllable = [](unsigned cp) {
    std::string s;
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
    return s;
  };
  PatternSet set = default_patterns();
  for (unsigned i = 0; i < 600; ++i)
    set.name_stop_words.push_back("김" + syllable(0xAC00 + i) + "수");
  set.name_stop_words.push_back("");  // never a member, never a crash
  const PiiScanner s(set);
  for (unsigned i = 0; i < 600; i += 7) {
    const std::string stop = "김" + syllable(0xAC00 + i) + "수";
    EXPECT_TRUE(s.scan("어제 " + stop + "님께 연락").empty()) << stop;
    const std::string name = "김" + syllable(0xAC00 + i) + "호";
    auto f = s.scan("어제 " + name + "님께 연락");
    ASSERT_EQ(f.size(), 1u) << name;
    EXPECT_EQ(f[0].type, kKoreanName);
  }
}

TEST(PiiScanner, PrivateKeyBlock) {
  std::string pem =
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n/ygWyF8PbnGy0AHB7\n"
      "-----END RSA PRIVATE KEY-----";
  std::string text = "key:\n" + pem + "\nbye";
  auto f = scanner().scan(text);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].type, "private_key");
  EXPECT_EQ(text.substr(f[0].begin, f[0].end - f[0].begin), pem);
  EXPECT_TRUE(
      scanner().scan("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").empty());
}

TEST(PiiScanner, RrnConfidenceReflectsChecksum) {
  auto valid = scanner().scan("900101-1234568");
  auto nochk = scanner().scan("900101-1234567");
  ASSERT_EQ(valid.size(), 1u);
  ASSERT_EQ(nochk.size(), 1u);
  EXPECT_GT(valid[0].confidence, nochk[0].confidence);
}

TEST(PiiScanner, SeveralFindingsSortedAndDisjoint) {
  std::string t =
      "김철수님(010-1234-5678, kim@example.com)의 카드 4111-1111-1111-1111, 주민 900101-1234568";
  auto f = scanner().scan(t);
  ASSERT_EQ(f.size(), 5u);
  const char* types[] = {"korean_name", "phone", "email", "credit_card", "rrn"};
  for (std::size_t i = 0; i < f.size(); ++i) {
    EXPECT_EQ(f[i].type, types[i]);
    if (i) {
      EXPECT_LE(f[i - 1].end, f[i].begin);
    }
  }
}

TEST(PiiScanner, OverlapsPreferPriorityThenLength) {
  std::vector<Finding> in = {{"email", 0, 10, 0.9, ""},
                             {"secret", 5, 20, 0.7, ""},
                             {"phone", 30, 40, 0.9, ""},
                             {"ipv4", 32, 35, 0.9, ""}};
  auto out = resolve_overlaps(in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type, "secret");
  EXPECT_EQ(out[1].type, "phone");
}

TEST(PiiValidators, Basics) {
  using namespace check;
  EXPECT_TRUE(luhn_valid("79927398713"));
  EXPECT_FALSE(luhn_valid("79927398710"));
  EXPECT_EQ(card_brand("4111111111111111"), "visa");
  EXPECT_EQ(card_brand("378282246310005"), "amex");
  EXPECT_EQ(check_rrn("9001011234568"), RrnResult::kValid);
  EXPECT_EQ(check_rrn("9001011234567"), RrnResult::kDateOnly);
  EXPECT_EQ(check_rrn("9013011234567"), RrnResult::kInvalid);
  EXPECT_TRUE(iban_valid("GB82WEST12345698765432"));
  EXPECT_FALSE(iban_valid("GB83WEST12345698765432"));
  EXPECT_TRUE(ipv4_valid("255.255.255.255"));
  EXPECT_FALSE(ipv4_valid("256.1.1.1"));
  EXPECT_FALSE(ipv4_valid("01.1.1.1"));
  EXPECT_TRUE(ipv6_valid("::ffff:192.0.2.1"));
  EXPECT_FALSE(ipv6_valid("12:30:45"));
  EXPECT_EQ(korean_phone_kind("01012345678"), "kr_mobile");
  EXPECT_EQ(korean_phone_kind("0212345678"), "kr_landline");
  EXPECT_EQ(korean_phone_kind("15881234"), "kr_service");
  EXPECT_EQ(korean_phone_kind("0101234567"), "");
}

// iban_valid divides once per 15 digits: the same verdict as mod 97 taken
// digit by digit, on every length and on letters only (the largest values),
// for IBANs whose check digits are right and for ones one off.
TEST(PiiValidators, IbanMod97MatchesDigitByDigit) {
  using check::iban_valid;
  auto mod97 = [](const std::string& s) {
    int r = 0;
    for (std::size_t k = 0; k < s.size(); ++k) {
      const char c = s[(k + 4) % s.size()];
      r = c >= 'A' ? (r * 100 + (c - 'A' + 10)) % 97 : (r * 10 + (c - '0')) % 97;
    }
    return r;
  };
  std::mt19937 rng(11);
  const std::string alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  int valid = 0;
  for (int t = 0; t < 20000; ++t) {
    const std::size_t len = 15 + rng() % 20;
    // "QQ" and "QZ" are no country: every length is checked by mod 97 alone.
    std::string s = t % 2 ? "QQ00" : "QZ00";
    for (std::size_t k = 4; k < len; ++k) s += t % 7 == 0 ? 'Z' : alnum[rng() % (t % 3 ? 36 : 10)];
    const int check = 98 - mod97(s);  // with "00" as check digits
    s[2] = static_cast<char>('0' + check / 10);
    s[3] = static_cast<char>('0' + check % 10);
    if (t % 5 == 0) s[2 + t % 2] = s[2 + t % 2] == '9' ? '0' : static_cast<char>(s[2 + t % 2] + 1);
    ASSERT_EQ(iban_valid(s), mod97(s) == 1) << s;
    valid += mod97(s) == 1;
  }
  EXPECT_GT(valid, 10000);
}

TEST(PiiScanner, RandomBytesNeverCrash) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::string s(1 + rng() % 4096, '\0');
    for (auto& ch : s) {
      // Bias toward bytes the validators care about.
      static const char kAlpha[] =
          "0123456789-. +@:AKIAeyJ-----BEGIN xox_ghp=\xEB\x8B\x98\xEC\x94\xA8\xEA\xB9\x80";
      ch = rng() % 3 ? kAlpha[rng() % (sizeof(kAlpha) - 1)] : static_cast<char>(rng());
    }
    auto f = scanner().scan(s);
    for (std::size_t i = 0; i < f.size(); ++i) {
      ASSERT_LE(f[i].begin, f[i].end);
      ASSERT_LE(f[i].end, s.size());
      if (i) {
        ASSERT_LE(f[i - 1].end, f[i].begin);
      }
    }
  }
}

TEST(PiiScanner, ConcurrentScansAgree) {
  // Two scanners (different databases) used from several threads at once.
  PiiScanner other(parse_patterns_text(R"({"x": "EMP-[0-9]{4}"})", "t"));
  std::string text = "김철수님 010-1234-5678 kim@example.com EMP-1234 900101-1234568";
  const auto want = scanner().scan(text).size();
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (scanner().scan(text).size() != want) ++bad;
        if (other.scan(text).size() != 1) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(PiiScanner, HugeInputIsLinear) {
  // 50 MB of hostile repetition: anchors everywhere, few real values.
  std::string unit = "@@a@b.c 010-1234- eyJeyJ. ::: 1.2.3. -----BEGIN  password= 님씨 ";
  std::string big;
  big.reserve(50u << 20);
  while (big.size() < (50u << 20)) big += unit;
  auto t0 = std::chrono::steady_clock::now();
  auto f = scanner().scan(big);
  auto dt = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(std::chrono::duration_cast<std::chrono::seconds>(dt).count(), 30);
  (void)f;
}

TEST(PiiScanner, CapsFindingsAndReportsOverflow) {
  ScannerLimits lim;
  lim.max_findings = 10;
  PiiScanner s(default_patterns(), lim);
  std::string t;
  for (int i = 0; i < 100; ++i) t += "a" + std::to_string(i) + "@example.com ";
  auto f = s.scan(t);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f.back().type, "overflow");
  EXPECT_LE(f.size(), 11u);
}

TEST(PiiScanner, InvalidUtf8) {
  std::string t = "\xff\xfe kim@example.com \xc3\x28 김철수님 \xed\xa0\x80";
  auto f = scanner().scan(t);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].type, "email");
  EXPECT_EQ(f[1].type, "korean_name");
}

TEST(PiiPatterns, EmbeddedDefaultMatchesDataFile) {
  std::ifstream in(std::string(BASTION_SOURCE_DIR) + "/data/pii/default.json", std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), default_patterns_json());
}

TEST(PiiPatterns, SeedFileLoadsAndScans) {
  // The seed's pii_patterns.json, verbatim.
  const char* seed = R"js({
  "email": "\\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Z|a-z]{2,}\\b",
  "phone": "\\b01[0-9]-?[0-9]{4}-?[0-9]{4}\\b",
  "korean_name": "\\b[가-힣]{2,4}\\b(?=님|씨|\\s|$)",
  "ssn": "\\b\\d{6}-?[1-4]\\d{6}\\b"
})js";
  PatternSet set = parse_patterns_text(seed, "pii_patterns.json");
  ASSERT_EQ(set.custom.size(), 4u);
  EXPECT_EQ(set.custom[2].lookahead, "님|씨|\\s|$");
  PiiScanner s(set);
  auto f = s.scan("mail a@example.com phone 010-1234-5678 name 홍길동 end");
  std::vector<std::string> types;
  for (auto& x : f) types.emplace_back(x.type);
  EXPECT_EQ(types, (std::vector<std::string>{"email", "phone", "korean_name"}));
  auto g = s.scan("홍길동");  // lookahead satisfied by end of text
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].end, std::string("홍길동").size());
  EXPECT_TRUE(s.scan("홍길동이다").empty());
  // Defaults plus the seed file: one pass over both.
  PatternSet both = default_patterns();
  both.merge(set);
  PiiScanner s2(both);
  EXPECT_FALSE(s2.scan("900101-1234568").empty());
}

TEST(PiiPatterns, UnsupportedConstructsNameThePattern) {
  for (const char* re : {R"((?<=x)abc)", R"((a)\1)", R"(abc(?!d))", R"((?=x)abc)"}) {
    boost::json::object o{{"weird_one", re}};
    try {
      parse_patterns(o, "user.json");
      ADD_FAILURE() << re;
    } catch (const PatternError& e) {
      EXPECT_NE(std::string(e.what()).find("weird_one"), std::string::npos) << e.what();
    }
  }
  // Compiles in Python but not in Vectorscan: the scanner names it.
  PatternSet bad;
  bad.custom.push_back({"broken", "a{2,1}", "", 0.8, "user.json"});
  try {
    PiiScanner s(bad);
    ADD_FAILURE();
  } catch (const PatternError& e) {
    EXPECT_NE(std::string(e.what()).find("broken"), std::string::npos) << e.what();
  }
}

TEST(PiiPatterns, OwnFormatExtends) {
  PatternSet extra = parse_patterns_text(
      R"({"format": "bastion-pii/1", "korean_surnames": ["뷁"],
          "patterns": {"employee_id": {"regex": "EMP-[0-9]{6}", "confidence": 0.9}}})",
      "extra.json");
  PatternSet all = default_patterns();
  all.merge(extra);
  PiiScanner s(all);
  auto f = s.scan("EMP-123456 and 뷁철수님");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].type, "employee_id");
  EXPECT_EQ(f[1].type, "korean_name");
  EXPECT_THROW(parse_patterns_text(R"({"format": "bastion-pii/1", "bogus": 1})", "x"),
               PatternError);
  EXPECT_THROW(
      parse_patterns_text(
          R"({"format": "bastion-pii/1", "anchors": [{"validator": "nope", "regex": "x"}]})", "x"),
      PatternError);
  try {
    PiiScanner bad(parse_patterns_text(
        R"({"format": "bastion-pii/1", "anchors": [{"validator": "nope", "regex": "x"}]})", "x"));
    ADD_FAILURE();
  } catch (const PatternError& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
  }
}

// Native anchors: only number, ipv6 and email, only `"native": true`, never
// with a regex; a set of native anchors alone scans (no Vectorscan database).
TEST(PiiPatterns, NativeAnchors) {
  const char* bad[] = {
      R"({"format": "bastion-pii/1", "anchors": [{"validator": "iban", "native": true}]})",
      R"({"format": "bastion-pii/1", "anchors": [{"validator": "number", "native": false}]})",
      R"({"format": "bastion-pii/1", "anchors": [{"validator": "number", "native": 1}]})",
      R"({"format": "bastion-pii/1",
          "anchors": [{"validator": "number", "native": true, "regex": "[0-9]"}]})",
      R"({"format": "bastion-pii/1", "anchors": [{"native": true}]})",
  };
  for (const char* text : bad) {
    try {
      parse_patterns_text(text, "native.json");
      ADD_FAILURE() << text;
    } catch (const PatternError& e) {
      EXPECT_NE(std::string(e.what()).find("native"), std::string::npos) << e.what();
    }
  }
  PiiScanner only(parse_patterns_text(
      R"({"format": "bastion-pii/1", "anchors": [{"validator": "number", "native": true},
                                                 {"validator": "ipv6", "native": true}]})",
      "native.json"));
  auto f = only.scan("kim@example.com 010-1234-5678 at 2001:db8::1 ok");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].type, "phone");
  EXPECT_EQ(f[1].type, "ipv6");
  EXPECT_TRUE(only.scan("nothing here, 12 of 30").empty());
}

// attack: an operator's own IBAN anchor that matches more than the country
// code and check digits ("[A-Z]{2}[0-9]{2}[A-Z0-9 ]*") hands the validator a
// span as long as the hostile text makes it. The validator takes at most an
// IBAN's 34 characters (under ASan, copying the span overflowed its stack
// buffer before the bound); a genuine IBAN is still found by the anchor.
TEST(PiiPatterns, AnIbanAnchorLongerThanAnIbanIsNoIbanAndOverflowsNothing) {
  auto set = parse_patterns_text(
      R"({"format": "bastion-pii/1", "anchors": [{"validator": "iban", "regex": "[A-Z]{2}[0-9]{2}[A-Z0-9 ]*"}]})",
      "iban.json");
  PiiScanner s(set);
  const std::string hostile = "pay DE89" + std::string(4000, 'A') + " now";
  for (const auto& f : s.scan(hostile)) {
    EXPECT_LE(f.end, hostile.size());
    EXPECT_NE(f.type, kIban) << "a 4,004-character IBAN";
  }
  const std::string spaced = "pay DE89" + std::string(200, ' ') + "X now";
  for (const auto& f : s.scan(spaced)) EXPECT_LE(f.end, spaced.size());
  // Control: an anchor that is exactly an IBAN still finds one.
  auto found = s.scan("iban DE89370400440532013000 ok");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].type, kIban);
}

// The native email anchor looks at each '@' as the regex "@" does: the same
// findings, in the same order, also beside the other anchors and at the
// findings cap.
TEST(PiiPatterns, NativeEmailIsTheAtRegex) {
  auto set = [](const char* email) {
    return parse_patterns_text(
        std::string(R"({"format": "bastion-pii/1", "anchors": [)") + email +
            R"(, {"validator": "number", "native": true}, {"validator": "ipv6", "native": true},
               {"validator": "jwt", "regex": "eyJ"}, {"validator": "iban", "regex": "[A-Z]{2}[0-9]{2}"}],
               "secret_keys": ["token"]})",
        "email.json");
  };
  const char* texts[] = {
      "kim@example.com 010-1234-5678 at 2001:db8::1 ok",
      "a@b.co@c.com user1@10.0.0.1.example.org x@@y.kr @start end@",
      "token=kim@example.com; git@github.com:org/repo.git lee.j@corp.example.co.kr:8080",
      "mail 4111111111111111@example.com and DE89370400440532013000@bank.example.de",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl@example.com, kim@example.com",
      "",
  };
  auto lines = [](const std::vector<Finding>& f) {
    std::string out;
    for (const auto& x : f)
      out += fmt::format("{} {} {} {} {}\n", x.type, x.begin, x.end, x.confidence, x.detail);
    return out;
  };
  for (std::size_t cap : {std::size_t{1}, std::size_t{3}, std::size_t{1000}}) {
    ScannerLimits lim;
    lim.max_findings = cap;
    PiiScanner regex(set(R"({"validator": "email", "regex": "@"})"), lim);
    PiiScanner native(set(R"({"validator": "email", "native": true})"), lim);
    std::string all;
    for (const char* t : texts) {
      all += t;
      all += std::string(70, ' ') + "\n";
      EXPECT_EQ(lines(regex.scan(t)), lines(native.scan(t))) << t;
    }
    EXPECT_EQ(lines(regex.scan(all)), lines(native.scan(all)));
    EXPECT_NE(lines(native.scan(all)).find("email"), std::string::npos);
  }
}

// scan_key() remembers the short keys it found clean, per scanner: a key
// one scanner found clean is still scanned by another that finds it.
TEST(PiiScanKey, RemembersCleanKeysPerScanner) {
  PatternSet set = default_patterns();
  set.custom.push_back({"order_ref", "orderid", "", 0.9, "test"});
  const PiiScanner custom(set);
  for (int round = 0; round < 3; ++round) {
    EXPECT_TRUE(scanner().scan_key("orderid").empty()) << round;
    const auto f = custom.scan_key("orderid");
    ASSERT_EQ(f.size(), 1u) << round;
    EXPECT_EQ(f[0].type, "order_ref");
  }
}

// Always scan()'s findings: a key is remembered by all of its bytes (1,000
// clean five-byte keys take every slot one can go to, then each five-byte
// key with a finding meets one of them), never with a finding, and only up
// to kKeyCacheLen bytes.
TEST(PiiScanKey, SameFindingsAsScan) {
  PatternSet set = default_patterns();
  set.custom.push_back({"ticket", "zz[0-9]{3}", "", 0.9, "test"});
  const PiiScanner s(set);
  auto lines = [](const std::vector<Finding>& f) {
    std::string out;
    for (const auto& x : f) out += fmt::format("{} {} {} {}\n", x.type, x.begin, x.end, x.detail);
    return out;
  };
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(s.scan_key(fmt::format("zy{:03}", i)).empty());
    for (int i = 0; i < 1000; ++i) {
      const std::string k = fmt::format("zz{:03}", i);
      ASSERT_EQ(s.scan_key(k).size(), 1u) << k << " round " << round;
    }
  }
  const std::string at_limit(PiiScanner::kKeyCacheLen, 'a');
  std::vector<std::string> keys = {"content",
                                   "text",
                                   "kim@example.com",
                                   "kim@example.co",
                                   "010-1234-5678",
                                   "010-1234-567",
                                   "김철수님",
                                   "zz123",
                                   "zz12",
                                   "",
                                   "password",
                                   "ｋｉｍ＠ｅｘａｍｐｌｅ．ｃｏｍ"};
  keys.insert(keys.end(), {at_limit, at_limit + "zz123", at_limit.substr(1) + "@b.co"});
  for (int round = 0; round < 3; ++round)
    for (const auto& k : keys) EXPECT_EQ(lines(s.scan_key(k)), lines(s.scan(k))) << k;
}

// secret_key(): every name, in any ASCII case, and nothing one byte longer
// or shorter, also a name past the length mask's last bit (63 bytes).
TEST(PiiSecretKey, EveryNameOnly) {
  PatternSet set = default_patterns();
  set.secret_keys.push_back(std::string(80, 'k'));
  set.secret_keys.push_back("x");
  const PiiScanner s(set);
  for (const std::string& k : set.secret_keys) {
    std::string upper = k;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_TRUE(s.secret_key(k)) << k;
    EXPECT_TRUE(s.secret_key(upper)) << upper;
    EXPECT_FALSE(s.secret_key(k + "s")) << k;
    EXPECT_FALSE(s.secret_key(k.substr(1))) << k;
  }
  EXPECT_FALSE(s.secret_key(std::string(79, 'k')));
  EXPECT_FALSE(s.secret_key(std::string(81, 'k')));
  EXPECT_FALSE(s.secret_key(""));
  EXPECT_FALSE(scanner().secret_key(std::string(80, 'k')));
  EXPECT_FALSE(scanner().secret_key("x"));
}

}  // namespace
}  // namespace bastion::pii
