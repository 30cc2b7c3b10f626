#include "protocol/iso8601.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace bastion::protocol {

std::string iso8601_utc(std::int64_t unix_seconds) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     std::chrono::sys_seconds(std::chrono::seconds(unix_seconds)));
}

std::string iso8601_utc_ms(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  auto s = std::chrono::floor<std::chrono::seconds>(ms);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", s, (ms - s).count());
}

std::string iso8601_utc_now() {
  return iso8601_utc(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
}

}  // namespace bastion::protocol
