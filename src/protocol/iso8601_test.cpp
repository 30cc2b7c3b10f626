#include "protocol/iso8601.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>
#include <regex>

namespace bastion::protocol {
namespace {

TEST(Iso8601, SecondsSinceTheEpochInUtc) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601_utc(1798830299), "2027-01-01T19:04:59Z");
  EXPECT_EQ(iso8601_utc(951782400), "2000-02-29T00:00:00Z");  // a leap day
}

TEST(Iso8601, MillisecondsAreZeroPadded) {
  using namespace std::chrono;
  EXPECT_EQ(iso8601_utc_ms(system_clock::time_point(seconds(1)) + milliseconds(7)),
            "1970-01-01T00:00:01.007Z");
  EXPECT_EQ(iso8601_utc_ms(system_clock::time_point(milliseconds(951782400999))),
            "2000-02-29T00:00:00.999Z");
}

// The calendar arithmetic agrees with the C library's gmtime_r for every
// year it formats (0..9999), leap days and the day before the epoch included.
TEST(Iso8601, AgreesWithGmtimeAcrossTenThousandYears) {
  std::mt19937_64 rng(20261203);
  std::uniform_int_distribution<std::int64_t> any(-62167219200, 253402300799);
  std::vector<std::int64_t> probes = {-62167219200, -1, 0, 68169600, 951868799, 951868800,
                                      4107542400, 253402300799};
  for (int i = 0; i < 20000; ++i) probes.push_back(any(rng));
  for (std::int64_t t : probes) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&tt, &tm), nullptr) << t;
    char want[32];
    std::strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char want4[40];  // strftime does not pad years below 1000
    std::snprintf(want4, sizeof want4, "%04d%s", tm.tm_year + 1900, std::strchr(want, '-'));
    ASSERT_EQ(iso8601_utc(t), want4) << t;
  }
}

TEST(Iso8601, BeyondYear9999IsStillFormattedNotWrapped) {
  EXPECT_EQ(iso8601_utc(253402300800), "10000-01-01T00:00:00Z");
  // No overflow anywhere (UBSan: fmt's chrono path converted to nanoseconds).
  EXPECT_EQ(iso8601_utc(INT64_MAX), "9223372036854775807s after 1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601_utc(INT64_MIN), "-9223372036854775808s after 1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601_utc(-62167219200 - 86400), "-001-12-31T00:00:00Z");
}

TEST(Iso8601, NowHasTheShape) {
  EXPECT_TRUE(
      std::regex_match(iso8601_utc_now(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
}

}  // namespace
}  // namespace bastion::protocol
