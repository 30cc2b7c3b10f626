// FindingReport against the report formatted a finding at a time with fmt
// and Boost.JSON (what `pii scan` wrote before it had a writer of its own):
// the same bytes, in both forms, across the buffer's chunks, for numbers of
// every width, pieces longer than the fixed-size copies, and more
// (type, detail, confidence) triples than its index holds.
#include "pii/report.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace bastion::pii {
namespace {

namespace json = boost::json;

std::string reference(const std::vector<Finding>& fs, bool as_array) {
  std::string r = as_array ? "[" : "";
  for (std::size_t i = 0; i < fs.size(); ++i) {
    const Finding& f = fs[i];
    if (as_array && i) r += ',';
    r += fmt::format("{{\"type\":{},\"begin\":{},\"end\":{},\"confidence\":{}",
                     json::serialize(json::string_view(f.type)), f.begin, f.end, f.confidence);
    if (!f.detail.empty())
      r += fmt::format(",\"detail\":{}", json::serialize(json::string_view(f.detail)));
    r += as_array ? "}" : "}\n";
  }
  if (as_array) r += "]\n";
  return r;
}

// The report of `fs` handed on in batches of `batch`.
std::string report(const std::vector<Finding>& fs, bool as_array, std::size_t batch) {
  std::ostringstream out;
  FindingReport r(out, as_array);
  for (std::size_t i = 0; i < fs.size(); i += batch)
    r.add(std::span<const Finding>(fs).subspan(i, std::min(batch, fs.size() - i)));
  r.finish();
  EXPECT_EQ(r.count(), fs.size());
  return out.str();
}

void expect_as_reference(const std::vector<Finding>& fs) {
  for (bool as_array : {false, true})
    for (std::size_t batch : {std::size_t{1}, std::size_t{7}, std::size_t{1024}, fs.size() + 1}) {
      const std::string want = reference(fs, as_array), got = report(fs, as_array, batch);
      ASSERT_EQ(got.size(), want.size()) << "as_array " << as_array << ", batch " << batch;
      const auto at = std::mismatch(got.begin(), got.end(), want.begin()).first - got.begin();
      ASSERT_EQ(got, want) << "as_array " << as_array << ", batch " << batch
                           << ", first difference at " << at << ": "
                           << got.substr(at > 60 ? at - 60 : 0, 120);
    }
}

std::string to_chars_string(std::uint64_t v) {
  char b[20];
  return std::string(b, std::to_chars(b, b + sizeof b, v).ptr);
}

TEST(PutDecimal, AsToChars) {
  std::vector<std::uint64_t> values = {0, std::numeric_limits<std::uint64_t>::max(),
                                       std::numeric_limits<std::uint64_t>::max() - 1};
  for (std::uint64_t p = 1, k = 0; k < 20; ++k, p *= 10)
    for (std::uint64_t d : {p - 1, p, p + 1, 2 * p - 1, 5 * p, 9 * p + (p - 1)})
      values.push_back(d);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) values.push_back(rng() >> (rng() % 64));
  for (std::uint64_t v : values) {
    char b[40];
    std::memset(b, 'x', sizeof b);
    char* e = put_decimal(b, v);
    ASSERT_EQ(std::string(b, e), to_chars_string(v)) << v;
  }
}

constexpr std::string_view kTypes[] = {kEmail, kPhone, kCreditCard, kRrn,
                                       kIban,  kSsn,   kIpv4,       kAwsSecretKey};
constexpr std::string_view kDetails[] = {"",  "e164", "kr_mobile", "visa", "checksum not valid",
                                         "us"};
constexpr double kConfs[] = {0.95, 0.8, 0.5, 1.0, 0.7000000000000001};

// Findings of every built-in type, a few details and confidences, at
// offsets that pass every number width up to 20 digits.
std::vector<Finding> mixed(std::size_t n) {
  std::vector<Finding> fs;
  std::mt19937_64 rng(11);
  std::uint64_t at = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t len = 1 + rng() % 60;
    if (i % 5000 == 4999) at = at * 10 + rng() % 10;  // the next width, now and then
    if (at > std::numeric_limits<std::uint64_t>::max() / 2) at = rng() % 1000;
    fs.push_back(Finding{kTypes[rng() % std::size(kTypes)],
                         at,
                         at + len,
                         kConfs[rng() % std::size(kConfs)],
                         kDetails[rng() % std::size(kDetails)],
                         {}});
    at += len + rng() % 100;
  }
  return fs;
}

TEST(FindingReport, EmptyReports) {
  expect_as_reference({});
  EXPECT_EQ(report({}, true, 1), "[]\n");
  EXPECT_EQ(report({}, false, 1), "");
}

TEST(FindingReport, ManyChunksAsFormattedOneByOne) {
  // ~80 bytes a line: about 30 of the buffer's 256 KiB chunks.
  const auto fs = mixed(100000);
  ASSERT_GT(reference(fs, false).size(), 20 * FindingReport::kChunk);
  expect_as_reference(fs);
  // The largest offsets, where std::to_chars takes over.
  const std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
  expect_as_reference({Finding{kEmail, top - 1, top, 0.9, "", {}},
                       Finding{kEmail, 9'999'999'999'999'999, 10'000'000'000'000'000, 0.9, "", {}},
                       Finding{kEmail, 0, 99'999'999, 0.9, "", {}},
                       Finding{kEmail, 100'000'000, 100'000'001, 0.9, "", {}}});
}

TEST(FindingReport, PiecesLongerThanTheFixedCopies) {
  // A type past the 32 bytes copied before `begin`, a detail past the 64
  // after `end`, JSON escapes in both, and lines longer than the whole
  // buffer (256 KiB and 4 KiB past it): it grows.
  const std::string long_type(40, 't'), escaped = "a \"quoted\"\\ name\n\x01",
                                        long_detail(100, 'd'), huge_detail(300000, 'h');
  std::vector<Finding> fs;
  for (std::size_t i = 0; i < 3000; ++i) {
    const std::string_view type = i % 3 == 0   ? std::string_view(long_type)
                                  : i % 3 == 1 ? std::string_view(escaped)
                                               : kEmail;
    const std::string_view detail = i % 4 == 0     ? std::string_view(long_detail)
                                    : i % 4 == 1   ? std::string_view(escaped)
                                    : i % 500 == 2 ? std::string_view(huge_detail)
                                                   : std::string_view();
    fs.push_back(Finding{type, i * 1000, i * 1000 + 17, 0.75, detail, {}});
  }
  expect_as_reference(fs);
}

TEST(FindingReport, MoreTriplesThanTheIndexHolds) {
  // 1,500 details (the views' addresses are the key): shapes past the
  // 512 kept, slots shared and the index rebuilt, interleaved at random.
  std::vector<std::string> details;
  for (int i = 0; i < 1500; ++i) details.push_back(fmt::format("custom {}", i));
  std::vector<Finding> fs;
  std::mt19937_64 rng(3);
  for (std::size_t i = 0; i < 60000; ++i) {
    const std::size_t d = i < 30000 ? rng() % 40 : rng() % details.size();  // few, then many
    fs.push_back(
        Finding{kTypes[d % std::size(kTypes)], i * 50, i * 50 + 9, kConfs[d % 5], details[d], {}});
  }
  expect_as_reference(fs);
  // Equal text at another address: another key, the same line.
  const std::string again = details[0];
  expect_as_reference(
      {Finding{kEmail, 1, 2, 0.5, details[0], {}}, Finding{kEmail, 3, 4, 0.5, again, {}}});
}

// Takes the first `limit` bytes, then fails every write.
class FailingBuf : public std::stringbuf {
 public:
  explicit FailingBuf(std::size_t limit) : limit_(limit) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (str().size() + static_cast<std::size_t>(n) > limit_) return 0;
    ++writes;
    return std::stringbuf::xsputn(s, n);
  }

 public:
  std::size_t limit_;
  int writes = 0;
};

TEST(FindingReport, AFailedStreamIsOnlyCounted) {
  const auto fs = mixed(50000);
  FailingBuf buf(2 * FindingReport::kChunk + 4096);
  std::ostream out(&buf);
  FindingReport r(out, false);
  for (std::size_t i = 0; i < fs.size(); i += 1000)  // more batches after it failed
    r.add(std::span<const Finding>(fs).subspan(i, 1000));
  r.finish();
  EXPECT_EQ(r.count(), fs.size());
  EXPECT_FALSE(out);
  EXPECT_EQ(buf.writes, 2);  // the third chunk failed and nothing was written after it
  EXPECT_TRUE(reference(fs, false).starts_with(buf.str()));
  EXPECT_GE(buf.str().size(), 2 * FindingReport::kChunk);
}

}  // namespace
}  // namespace bastion::pii
