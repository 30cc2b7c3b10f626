// Reading an audit directory for the audit tools and the CLI: its files in
// chain order and its records, newest first (paged) or oldest first
// (streamed). Checkpoints and unparsable lines are skipped; nothing is
// verified here (verify.hpp does that).
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

namespace bastion::audit {

// The files of an audit directory in chain order: rotated ones, then audit.log.
std::vector<std::filesystem::path> audit_files(const std::filesystem::path& dir);

// Reads records (newest first) from an audit directory for the audit tools:
// those with seq < before (0 = from the newest) that `keep` accepts, at most
// `limit`. Checkpoints and unparsable lines are skipped.
std::vector<boost::json::object> read_audit_records(
    const std::filesystem::path& dir, std::uint64_t before, std::size_t limit,
    const std::function<bool(const boost::json::object&)>& keep);

// Calls `visit` for every record of an audit directory, oldest first, reading
// a line at a time (memory stays flat however long the log). Checkpoints and
// unparsable lines are skipped.
void for_each_audit_record(const std::filesystem::path& dir,
                           const std::function<void(const boost::json::object&)>& visit);

}  // namespace bastion::audit
