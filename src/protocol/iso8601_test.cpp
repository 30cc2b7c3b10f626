#include "protocol/iso8601.hpp"

#include <gtest/gtest.h>

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

TEST(Iso8601, NowHasTheShape) {
  EXPECT_TRUE(
      std::regex_match(iso8601_utc_now(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
}

}  // namespace
}  // namespace bastion::protocol
