// The audit log's on-disk format, shared by the writer (log.cpp), the
// verifier (verify.cpp) and the readers (reader.cpp): file names, record
// parsing, the checkpoint's signed message and key id. The format itself is
// described in log.hpp.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.hpp"

namespace bastion::audit {

inline constexpr std::string_view kActive = "audit.log";
inline constexpr std::string_view kHead = "audit.log.head";
// The next active file, made (with its disk reserve) before a rotation.
inline constexpr std::string_view kNext = "audit.log.next";
inline constexpr std::string_view kCheckpoint = "audit_checkpoint";
inline constexpr std::string_view kRetention = "audit_retention";
// `prev` of the first record.
inline const std::string kZeroHash(64, '0');

// The text a checkpoint's Ed25519 signature covers.
std::string signed_message(std::string_view key_id, std::uint64_t tree_size, std::string_view root,
                           std::string_view head);
// "ak_" and the first 16 hex digits of SHA-256(public key).
std::string compute_key_id(std::string_view pk);
// A rotated file's name: audit-<first seq, 12 digits>.log.
std::string rotated_name(std::uint64_t first_seq);
// The first seq a rotated file's name says, nullopt for other names.
std::optional<std::uint64_t> rotated_first_seq(const std::filesystem::path& file);
// UTC now as 2026-12-01T10:00:00.123Z.
std::string now_iso8601();
// Records' `ts` as protocol::iso8601_utc_ms writes it, the calendar date and
// time of day computed once a second (the writer stamps every batch of
// records, many a second). Not thread-safe: one per log, under its mutex.
class StampText {
 public:
  // Valid until the next call.
  std::string_view format(std::chrono::system_clock::time_point t);

 private:
  std::int64_t second_ = 0;  // of text_, since the epoch
  std::string text_;         // empty: nothing formatted yet
};
// A record's `ts` (2026-12-01T10:00:00.123Z, or without the milliseconds) as
// milliseconds since the Unix epoch; nullopt for any other text.
std::optional<std::int64_t> parse_ts_ms(std::string_view ts);
// Now in the same unit.
std::int64_t now_ms();

// The whole file (empty when it cannot be read).
std::string read_all(const std::filesystem::path& p);
// Lines without their '\n'; a last line without one is included.
std::vector<std::string_view> split_lines(std::string_view text);
// A record line as a JSON object, nullopt when it is not one.
std::optional<boost::json::object> parse_record(std::string_view line);
// A non-negative integer member, nullopt when absent or of another type.
std::optional<std::uint64_t> get_u64(const boost::json::object& o, std::string_view k);
// A string member, empty when absent or of another type.
std::string get_str(const boost::json::object& o, std::string_view k);
bool is_checkpoint(const boost::json::object& o);
// The compact Merkle range a checkpoint carries, nullopt when malformed.
std::optional<merkle::CompactRange> range_of(const boost::json::object& cp);

}  // namespace bastion::audit
