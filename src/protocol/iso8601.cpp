#include "protocol/iso8601.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

namespace bastion::protocol {

namespace {

using namespace std::chrono;

// Calendar arithmetic only (C++20 civil dates): no gmtime_r, whose time-zone
// lock every I/O thread took for each audit record's timestamp. Any year the
// day count holds is written as it is (10000-01-01, -001-...); fmt's chrono
// formatter is not used: it converts to system_clock's nanoseconds, which
// overflows beyond the years 1677..2262 (UBSan found it).
bool civil(sys_seconds s, std::string& out, int millis) {
  const auto day = floor<days>(s);
  const year_month_day ymd{day};
  const int y = int(ymd.year());
  if (!ymd.ok()) return false;
  const hh_mm_ss hms{s - day};
  // Compiled format strings: parsing them at run time was most of the cost
  // of an audit record's timestamp (bench/results/profile.md).
  const auto h = hms.hours().count(), mi = hms.minutes().count();
  const auto sec = hms.seconds().count();
  const unsigned mo = unsigned(ymd.month()), d = unsigned(ymd.day());
  out = millis < 0
            ? fmt::format(FMT_COMPILE("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z"), y, mo, d, h, mi, sec)
            : fmt::format(FMT_COMPILE("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z"), y, mo, d, h,
                          mi, sec, millis);
  return true;
}

}  // namespace

std::string iso8601_utc(std::int64_t unix_seconds) {
  // ±10^13 s is ±300,000 years: beyond it the day count would overflow.
  constexpr std::int64_t kFar = 10'000'000'000'000;
  const sys_seconds s{seconds(unix_seconds)};
  std::string out;
  if (unix_seconds > -kFar && unix_seconds < kFar && civil(s, out, -1)) return out;
  return fmt::format("{}s after 1970-01-01T00:00:00Z", unix_seconds);
}

std::string iso8601_utc_ms(system_clock::time_point t) {
  auto ms = floor<milliseconds>(t);
  auto s = floor<seconds>(ms);
  std::string out;
  if (civil(s, out, int((ms - s).count()))) return out;
  // Unreachable: a system_clock time point spans the years 1677..2262.
  return fmt::format("{}ms after 1970-01-01T00:00:00Z", ms.time_since_epoch().count());
}

std::string iso8601_utc_now() {
  return iso8601_utc(duration_cast<seconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace bastion::protocol
