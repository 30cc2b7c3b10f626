// The retention policy (see retention.hpp).
#include "audit/retention.hpp"

namespace bastion::audit {

RetentionDecision retention_decision(const std::vector<RotatedFile>& rotated,
                                     std::uint64_t active_bytes, const RetentionOptions& o,
                                     std::chrono::system_clock::time_point now) {
  RetentionDecision d;
  std::uint64_t total = active_bytes;
  for (const auto& f : rotated) total += f.bytes;
  auto note = [&](const char* why) {
    if (d.reason.empty()) d.reason = why;
  };
  while (d.remove < rotated.size()) {
    const auto& f = rotated[d.remove];
    std::size_t left = rotated.size() - d.remove;
    if (o.keep_files > 0 && left > o.keep_files) {
      note("keep_files");
    } else if (o.max_total_bytes > 0 && total > o.max_total_bytes) {
      note("max_total_size");
    } else if (o.max_age.count() > 0 && now - f.modified > o.max_age) {
      note("max_age");
    } else {
      break;
    }
    total -= f.bytes;
    ++d.remove;
  }
  return d;
}

}  // namespace bastion::audit
