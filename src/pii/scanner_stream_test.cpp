// PiiScanner::scan_each against scan(): the same findings in the same order
// on the benchmark's corpora and on text made to break a stream — values
// that overlap (resolved across the places where findings are handed on),
// long findings with others inside, evasions the normalized view undoes,
// invalid UTF-8, the findings cap — handed on every few findings or only
// at the end.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../bench/pii_corpus.hpp"
#include "pii/scanner.hpp"
#include "pii/test_util.hpp"

namespace bastion::pii {
namespace {

using testing::scanner;

struct Streamed {
  std::vector<Finding> findings;
  std::size_t batches = 0, largest = 0;
};

Streamed stream(const PiiScanner& s, std::string_view text, std::size_t hold) {
  Streamed r;
  s.scan_each(
      text,
      [&r](std::span<Finding> batch) {
        EXPECT_FALSE(batch.empty());
        ++r.batches;
        r.largest = std::max(r.largest, batch.size());
        for (Finding& f : batch) r.findings.push_back(std::move(f));
      },
      hold);
  return r;
}

// Every field of every finding, and the first that differs.
void expect_same(const std::vector<Finding>& want, const std::vector<Finding>& got,
                 std::string_view text) {
  ASSERT_EQ(want.size(), got.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    const Finding &a = want[i], &b = got[i];
    const bool same = a.type == b.type && a.begin == b.begin && a.end == b.end &&
                      a.confidence == b.confidence && a.detail == b.detail &&
                      std::string_view(a.normalized) == std::string_view(b.normalized);
    ASSERT_TRUE(same) << "finding " << i << ": scan() " << a.type << " [" << a.begin << ", "
                      << a.end << ") '" << text.substr(a.begin, a.end - a.begin)
                      << "', scan_each() " << b.type << " [" << b.begin << ", " << b.end << ") '"
                      << text.substr(b.begin, b.end - b.begin) << "'";
  }
}

// scan_each() as scan() with the window's usual size, with one finding held
// at a time (handed on at every place it can be) and with a few.
void expect_streams_as_scan(const PiiScanner& s, std::string_view text) {
  const std::vector<Finding> want = s.scan(text);
  for (std::size_t hold : {PiiScanner::kStreamHold, std::size_t{1}, std::size_t{7}}) {
    SCOPED_TRACE("hold " + std::to_string(hold));
    expect_same(want, stream(s, text, hold).findings, text);
  }
}

// Sentences with a value every few kilobytes, as in the benchmark's prose.
std::string prose(std::size_t bytes) {
  bench::Lcg r{7};
  static const char* const kWords[] = {
      "the",  "order",  "shipped", "yesterday", "and",     "support", "said",
      "that", "we",     "would",   "call",      "back",    "고객님",  "감사합니다",
      "오늘", "날씨가", "좋네요",  "씨앗을",    "version", "2.4.1",   "in",
      "2024", "for",    "12",      "people",    "at",      "12:30"};
  std::string t;
  while (t.size() < bytes) {
    for (int w = 0; w < 12; ++w) {
      t += r.pick(kWords);
      t += ' ';
    }
    t += ".\n";
    if (r.chance(3)) t += bench::dense_record(r, r.chance(50));
  }
  return t;
}

// Text made of what makes findings overlap, nest, or move under the
// normalized view, with filler of random length between, so that the
// places where findings are handed on fall everywhere.
std::string adversarial(std::size_t bytes, std::uint64_t seed) {
  bench::Lcg r{seed};
  const std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IktpbSJ9."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  std::string t;
  while (t.size() < bytes) {
    switch (r.below(18)) {
      case 0:  // a secret whose value is an email, a key, a token
        t += "password=" + bench::email(r);
        break;
      case 1:
        t += "api_key: " + bench::aws_key(r);
        break;
      case 2:
        t += "Authorization: Bearer " + jwt;
        break;
      case 3:
        t += "token=\"" + jwt + "\"";
        break;
      case 4: {  // a long finding with others inside, reaching past the look-back
        t += "-----BEGIN RSA PRIVATE KEY-----\n";
        for (int part = 0; part < 2; ++part) {
          for (std::size_t k = r.below(150); k-- > 0;)
            t += bench::email(r) + " " + bench::card(r) + " " + bench::kr_mobile(r) + "\n";
          // Nothing inside for longer than the look-back, then more.
          if (part == 0 && r.chance(50)) t += std::string(5000, 'A') + "\n";
        }
        t += "-----END RSA PRIVATE KEY-----";
        break;
      }
      case 5:
        t += "IBAN " + bench::iban(r, r.chance(50)) + " " + bench::card(r, 0);
        break;
      case 6:
        t += bench::number_mix_text(r);
        break;
      case 7:  // evasions: full-width digits, invisible characters, dashes
        t += "전화 ０１０-１２３４-５６７８, kim\xE2\x80\x8B@example.com, 010\xE2\x80\x93"
             "1234\xE2\x80\x93"
             "5678";
        break;
      case 8:
        t += "card 4111\xC2\xAD"
             "1111 1111 1111, ｋｉｍ＠ｅｘａｍｐｌｅ．ｃｏｍ";
        break;
      case 9:  // invalid UTF-8 around values
        t += "\xFF\xFE" + bench::email(r) + "\xEA\xB9" + bench::ssn(r) + "\xC3";
        break;
      case 10:
        t += bench::korean_name(r) + (r.chance(50) ? "님께서" : " 씨가") + " " + bench::rrn(r);
        break;
      case 11:
        t += bench::ipv6(r) + " " + bench::ipv4(r);
        break;
      case 12:  // found before the value it is part of, which starts before it
        t += bench::kr_mobile(r, r.chance(50) ? '-' : '.') + "@example.com";
        break;
      case 13:
        t += "x." + bench::card_digits(r) + "@mail.example.org";
        break;
      default:
        t += bench::dense_record(r, r.chance(50));
    }
    t.append(r.below(300), r.chance(50) ? ' ' : 'x');
    t += r.chance(50) ? "\n" : ", ";
  }
  return t;
}

TEST(ScanEach, DenseEnglishAsScan) {
  const std::string text = bench::dense_corpus(2u << 20, false);
  expect_streams_as_scan(scanner(), text);
  // Handed on as it went, a window at a time, not all at the end.
  const Streamed s = stream(scanner(), text, PiiScanner::kStreamHold);
  EXPECT_GT(s.batches, s.findings.size() / (2 * PiiScanner::kStreamHold));
  EXPECT_LE(s.largest, 2 * PiiScanner::kStreamHold);
}

TEST(ScanEach, DenseKoreanAsScan) {
  expect_streams_as_scan(scanner(), bench::dense_corpus(2u << 20, true));
}

TEST(ScanEach, ProseAsScan) { expect_streams_as_scan(scanner(), prose(2u << 20)); }

TEST(ScanEach, OverlapsEvasionsAndInvalidUtf8AsScan) {
  for (std::uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::string text = adversarial(1u << 20, seed);
    // The text has what it is for: overlapping values resolved, values
    // the view changed, invalid UTF-8.
    const auto all = scanner().scan(text);
    EXPECT_TRUE(std::any_of(all.begin(), all.end(), [](const Finding& f) {
      return f.type == kPrivateKey && f.end - f.begin > PiiScanner::kStreamLookback;
    }));
    EXPECT_TRUE(std::any_of(all.begin(), all.end(),
                            [](const Finding& f) { return !f.normalized.empty(); }));
    expect_streams_as_scan(scanner(), text);
  }
}

TEST(ScanEach, FindingsCapAsScan) {
  ScannerLimits limits;
  limits.max_findings = 5000;
  const PiiScanner capped(default_patterns(), limits);
  const std::string text = bench::dense_corpus(1u << 20, false);
  const auto all = capped.scan(text);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back().type, kOverflow);
  expect_streams_as_scan(capped, text);
  expect_streams_as_scan(capped, adversarial(1u << 20, 4));
}

TEST(ScanEach, CustomPatternsAsScan) {
  // Custom matches may start anywhere before their end: all made, then handed on.
  PatternSet set = default_patterns();
  set.merge(parse_patterns_text(R"({"format": "bastion-pii/1",
      "patterns": {"employee_id": "EMP-[0-9]{6}", "ticket": "T-[0-9]+ [a-z ]+ done"}})",
                                "test"));
  const PiiScanner custom(set);
  std::string text = bench::dense_corpus(1u << 20, false);
  for (std::size_t at = 1000; at < text.size(); at += 7919)
    text.insert(at, " EMP-123456 T-42 it is all done ");
  expect_streams_as_scan(custom, text);
}

TEST(ScanEach, NothingToHandOn) {
  for (std::string_view text : {std::string_view(""), std::string_view("no values here at all")}) {
    const Streamed s = stream(scanner(), text, PiiScanner::kStreamHold);
    EXPECT_EQ(s.batches, 0u);
  }
}

}  // namespace
}  // namespace bastion::pii
