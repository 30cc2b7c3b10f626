// UTC timestamps as ISO 8601 / RFC 3339 text, the one spelling Bastion
// writes everywhere (audit records, audit events, secrets, pins, CLI output).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace bastion::protocol {

// "2026-12-02T19:04:59Z" for seconds since the Unix epoch.
std::string iso8601_utc(std::int64_t unix_seconds);
// "2026-12-02T19:04:59.123Z": milliseconds, for records that need ordering
// finer than a second.
std::string iso8601_utc_ms(std::chrono::system_clock::time_point t);
// Now, to the second.
std::string iso8601_utc_now();

}  // namespace bastion::protocol
