// The last lines each server wrote to stderr, for operators (the console's
// Servers page): kept in memory per server name, bounded (kLines lines of
// at most kLineBytes each), already sanitized the way the log shows them
// (PII masked, control characters escaped; pii::sanitize_log_line).
//
// Thread-safety: the functions may be called concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::gateway {

inline constexpr std::size_t kStderrLines = 50;
inline constexpr std::size_t kStderrLineBytes = 512;

void record_stderr(std::string_view server, std::string_view sanitized_line);
// Oldest first.
std::vector<std::string> stderr_tail(std::string_view server);

}  // namespace bastion::gateway
