#include "pii/normalize.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace bastion::pii {
namespace {

struct ViewCase {
  const char* name;
  std::string in;
  std::string view;
};

// Each evasion spelling and what the recognizers get to read.
const ViewCase kViews[] = {
    {"ascii is unchanged", "mail kim@example.com, 010-1234-5678",
     "mail kim@example.com, 010-1234-5678"},
    {"hangul is unchanged", "김철수님 안녕하세요", "김철수님 안녕하세요"},
    {"full-width digits and hyphen", "０１０－１２３４－５６７８", "010-1234-5678"},
    {"full-width at sign", "kim＠example.com", "kim@example.com"},
    {"full-width letters", "ｋｉｍ＠ｅｘａｍｐｌｅ．ｃｏｍ", "kim@example.com"},
    {"zero-width space", "010\u200B-1234\u200B-5678", "010-1234-5678"},
    {"zero-width joiner and non-joiner", "9001\u200D01-12\u200C34568", "900101-1234568"},
    {"word joiner and BOM", "\uFEFF010\u20601234\u20605678", "01012345678"},
    {"soft hyphen", "900101\u00AD-1234568", "900101-1234568"},
    {"bidi controls", "\u202E010-1234-5678\u202C \u2066x\u2069 \u200Fy\u200E", "010-1234-5678 x y"},
    {"unicode tags", "kim\U000E0061\U000E0062@example.com", "kim@example.com"},
    {"variation selector", "010\uFE0F-1234-5678", "010-1234-5678"},
    {"hangul filler", "김\u3164철수님", "김철수님"},
    {"en dash", "900101\u20131234568", "900101-1234568"},
    {"em dash", "010\u20141234\u20145678", "010-1234-5678"},
    {"minus sign", "010\u22121234\u22125678", "010-1234-5678"},
    {"hyphen and non-breaking hyphen", "010\u20101234\u20115678", "010-1234-5678"},
    {"small and full-width hyphen-minus", "010\uFE631234\uFF0D5678", "010-1234-5678"},
    {"figure dash and horizontal bar", "010\u20121234\u20155678", "010-1234-5678"},
    {"no-break and ideographic spaces", "4111\u00A01111\u30001111\u20071111",
     "4111 1111 1111 1111"},
    {"arabic-indic digits", "\u0669\u0660\u0660\u0661\u0660\u0661-1234568", "900101-1234568"},
    {"devanagari digits", "\u0966\u0967\u0966-1234-5678", "010-1234-5678"},
    {"mathematical digits", "\U0001D7CE\U0001D7CF\U0001D7CE-1234-5678", "010-1234-5678"},
    {"circled digits", "\u2460\u2461\u2462", "123"},
    {"combining marks after digits", "0\u03321\u03320\u0332-1234-5678", "010-1234-5678"},
    {"keycap sequence", "1\uFE0F\u20E32", "12"},
    {"accents stay on letters", "cafe\u0301 e\u0301", "caf\u00E9 \u00E9"},
    {"decomposed hangul composes",
     "\u1100\u1175\u11B7\u110E\u1165\u11AF\u1109\u116E\u1102\u1175\u11B7", "김철수님"},
    {"compatibility jamo", "\u3131", "\u1100"},
    {"ellipsis", "wait\u2026", "wait..."},
    {"squared latin", "\u3392", "MHz"},
    {"invalid utf-8 stays", std::string("a\xFF\xC3(b\xE2\x80", 7) + "\uFF10",
     std::string("a\xFF\xC3(b\xE2\x80", 7) + "0"},
    {"lone continuation bytes", std::string("\x80\x80\xBF") + "\u200B1",
     std::string("\x80\x80\xBF") + "1"},
};

TEST(PiiNormalize, Views) {
  for (const auto& c : kViews) {
    EXPECT_EQ(normalize_for_detection(c.in), c.view) << c.name;
    EXPECT_EQ(needs_normalization(c.in), c.in != c.view) << c.name;
  }
  // Marks with nothing before them stay (and the fast path still says the
  // text needs a look).
  EXPECT_EQ(normalize_for_detection("\u0332\u03320"), "\u0332\u03320");
}

// Every view span maps back to the original bytes that produced it.
struct SpanCase {
  const char* name;
  std::string in;
  std::string view_value;  // found in the view
  std::string original;    // the original span it must map to
};

const SpanCase kSpans[] = {
    {"full-width phone", "전화 ０１０－１２３４－５６７８ 주세요", "010-1234-5678",
     "０１０－１２３４－５６７８"},
    {"zwsp inside", "call 010\u200B-1234-5678 now", "010-1234-5678", "010\u200B-1234-5678"},
    {"zwsp outside stays outside", "x \u200B010-1234-5678\u200B y", "010-1234-5678",
     "010-1234-5678"},
    {"en dash rrn", "rrn 900101\u20131234568.", "900101-1234568", "900101\u20131234568"},
    {"email with full-width at", "메일 kim＠example.com 로", "kim@example.com", "kim＠example.com"},
    {"tags inside email", "kim\U000E0061@example.com", "kim@example.com",
     "kim\U000E0061@example.com"},
    {"decomposed name", "\u1100\u1175\u11B7\u110E\u1165\u11AF\u1109\u116E\u1102\u1175\u11B7",
     "김철수", "\u1100\u1175\u11B7\u110E\u1165\u11AF\u1109\u116E"},
    {"identity after a change", "\u00AD abc 010-1234-5678", "010-1234-5678", "010-1234-5678"},
};

TEST(PiiNormalize, SpansMapBack) {
  for (const auto& c : kSpans) {
    NormalizedText nt(c.in);
    auto at = nt.text().find(c.view_value);
    ASSERT_NE(at, std::string_view::npos) << c.name << ": " << nt.text();
    auto [b, e] = nt.original_span(at, at + c.view_value.size());
    EXPECT_EQ(c.in.substr(b, e - b), c.original) << c.name;
  }
}

TEST(PiiNormalize, EmptyAndRemovedOnly) {
  NormalizedText empty("");
  EXPECT_EQ(empty.text(), "");
  NormalizedText gone("\u200B\u200B\u00AD");
  EXPECT_EQ(gone.text(), "");
}

// Random bytes (valid and invalid UTF-8 mixed with characters the view
// changes): never crash, spans stay inside the original and keep order.
TEST(PiiNormalize, RandomInputIsSafe) {
  std::mt19937 rng(7);
  const std::string pieces[] = {"a",      "0",      "-",        "\u200B", "\uFF10",
                                "\u2013", "\u0332", "김",       "\u1100", "\u1175",
                                "\u11B7", "\xFF",   "\xE2\x80", "\xC3",   "\U000E0041",
                                "\u2460", " ",      "@",        "\uFF20", "\u00AD"};
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    int len = static_cast<int>(rng() % 40);
    for (int i = 0; i < len; ++i) s += pieces[rng() % std::size(pieces)];
    NormalizedText nt(s);
    std::size_t prev_b = 0, prev_e = 0;
    for (std::size_t i = 0; i < nt.text().size(); ++i) {
      auto [b, e] = nt.original_span(i, i + 1);
      ASSERT_LT(b, e) << round;
      ASSERT_LE(e, s.size()) << round;
      ASSERT_GE(b, prev_b) << round;  // the map keeps order
      ASSERT_GE(e, prev_e) << round;
      prev_b = b;
      prev_e = e;
      auto [wb, we] = nt.original_span(0, nt.text().size());
      ASSERT_LE(wb, b);
      ASSERT_GE(we, e);
    }
  }
}

// Long inputs: the fast path covers every lane position of the vector loop.
TEST(PiiNormalize, FindsTheFirstCharacterAtEveryOffset) {
  for (std::size_t at = 0; at < 70; ++at) {
    for (const std::string needle : {"\uFF10", "\u200B", "\u2013", "\U000E0041"}) {
      std::string s(at, 'a');
      s += needle;
      s += std::string(40, 'b');
      EXPECT_EQ(first_to_normalize(s), at) << at;
      std::string k;
      for (std::size_t i = 0; i < at; ++i) k += "김";
      k += needle;
      k += "가나다라마바사아자차카타파하";
      EXPECT_EQ(first_to_normalize(k), at * 3) << at;
    }
  }
  std::string hangul;
  for (char32_t c = 0xAC00; c <= 0xD7A3; c += 7) {
    char buf[4] = {static_cast<char>(0xE0 | (c >> 12)), static_cast<char>(0x80 | ((c >> 6) & 0x3F)),
                   static_cast<char>(0x80 | (c & 0x3F)), 0};
    hangul += buf;
  }
  EXPECT_EQ(first_to_normalize(hangul), std::string_view::npos);
  // The characters next to the syllable block are not skipped.
  EXPECT_EQ(first_to_normalize("가가가가가가가가가가\u3131"), 30u);
  EXPECT_EQ(first_to_normalize("가가가가가가가가가가가\uA8E0가가가가가가"), 33u);
  EXPECT_EQ(first_to_normalize("가가가가가가가가가가가\uD7B0가가가가가가"), std::string_view::npos);
}

// Short texts, all of them the tail the vector loop leaves (ASCII skipped 8
// bytes at a time there): the first character at every offset, with 0 to 8
// ASCII bytes after it; ASCII alone and Hangul after it need nothing.
TEST(PiiNormalize, ShortTextsAtEveryOffset) {
  for (std::size_t at = 0; at < 24; ++at) {
    for (std::size_t after = 0; after <= 8; ++after) {
      for (const std::string needle : {"\uFF10", "\u200B", "\u2013", "\U000E0041"}) {
        const std::string s = std::string(at, 'a') + needle + std::string(after, 'b');
        EXPECT_EQ(first_to_normalize(s), at) << at << " " << after;
      }
    }
  }
  for (std::size_t n = 0; n < 40; ++n) {
    EXPECT_EQ(first_to_normalize(std::string(n, 'a')), std::string_view::npos) << n;
    EXPECT_EQ(first_to_normalize(std::string(n, 'a') + "가"), std::string_view::npos) << n;
  }
}

// The tables built from ICU's property sets equal the ones built code point
// by code point: every flag and every simple view of planes 0 and 1 (a
// range dropped or a property misread changes what the view reads).
TEST(PiiNormalize, TablesEqualThePerCodePointBuild) {
  const NormalizationTables fast = normalization_tables();
  const NormalizationTables ref = reference_normalization_tables();
  ASSERT_EQ(fast.flags.size(), 0x20000u);
  ASSERT_EQ(ref.flags.size(), 0x20000u);
  int differing = 0;
  for (std::size_t c = 0; c < ref.flags.size(); ++c) {
    if (fast.flags[c] == ref.flags[c]) continue;
    if (++differing <= 10)
      ADD_FAILURE() << "U+" << std::hex << std::uppercase << c << ": flags 0x" << int{fast.flags[c]}
                    << ", per code point 0x" << int{ref.flags[c]};
  }
  EXPECT_EQ(differing, 0) << "code points whose flags differ";
  EXPECT_EQ(fast.simple.size(), ref.simple.size());
  EXPECT_TRUE(fast.simple == ref.simple) << "the simple views differ";
  EXPECT_GT(ref.simple.size(), 1000u);  // full-width forms, compatibility characters, ...
}

}  // namespace
}  // namespace bastion::pii
