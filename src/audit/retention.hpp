// Which rotated audit files retention removes: a pure function over their
// sizes and ages, so the policy is tested without a clock or a disk. The
// writer (log.cpp) records the decision in the log, signs it, and only then
// deletes the files, so `bastion audit verify` accepts exactly the
// beginnings that retention made (see verify.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace bastion::audit {

struct RetentionOptions {
  std::uint64_t max_total_bytes = 1ull << 30;    // all files together; 0 = no limit
  std::chrono::seconds max_age{90 * 24 * 3600};  // since a file's last write; 0 = no limit
  std::size_t keep_files = 0;                    // rotated files; 0 = no limit
};

struct RotatedFile {
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  std::chrono::system_clock::time_point modified;
};

struct RetentionDecision {
  std::size_t remove = 0;  // the oldest `remove` files go
  std::string reason;      // "max_total_size", "max_age" or "keep_files" (the first that applied)
};

// `rotated` is oldest first; the active file (never removed) holds
// `active_bytes`. Removes the oldest files while any limit is exceeded.
RetentionDecision retention_decision(const std::vector<RotatedFile>& rotated,
                                     std::uint64_t active_bytes, const RetentionOptions& o,
                                     std::chrono::system_clock::time_point now);

}  // namespace bastion::audit
