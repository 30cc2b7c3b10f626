// audit.log.head: the signed statement of where the log ends, so records cut
// from the end are found even though the log itself is plain text.
//
// One JSON object padded with spaces to 512 bytes, rewritten in place
// (pwrite at offset 0: no new disk space is needed, so it still works on a
// full disk). It names the newest record covered (seq and leaf hash) and is
// signed with the audit key. Writers sign it at most `sign_interval` after a
// record is written (with sync: interval only once the record is on disk), at
// start, and at shutdown; the last writer to stop marks it `shutdown`.
//
// The hash chain makes the head's signature cover every record up to that
// seq; the records after it (at most sign_interval's worth, after a crash)
// are chained but unsigned. A writer never lets them span more than
// unsigned_span_limit(interval_ms) by their timestamps: before it writes a
// record stamped later than that after the oldest-stamped one the head does
// not cover yet, it signs the head (whatever stalled its background signing:
// a slow disk, a paused process, a clock step). So a log whose records after
// the head span more ends with a head older than itself: records were cut
// from its end and an old head put back (verify.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace bastion::audit {

struct Head {
  std::uint64_t seq = 0;          // the newest record covered
  std::string hash;               // its leaf hash, 64 hex
  std::string ts;                 // when it was signed (UTC, ISO 8601)
  bool shutdown = false;          // the last writer stopped cleanly after writing it
  std::uint64_t interval_ms = 0;  // the writer's sign_interval
  std::string key_id;             // for humans; the signature binds the fingerprint
  std::string sig;                // base64 Ed25519 signature of head_message()
  bool legacy = false;            // the unsigned "<seq> <hash>" file of earlier versions
};

inline constexpr std::size_t kHeadFileBytes = 512;

// How far apart (by their `ts`) the records after a head signed with
// `interval_ms` may be: the interval plus 500 ms, so the background signing
// (every tick, plus an fdatasync) keeps well within it and the writer's own
// signing before a record is rare.
inline constexpr std::int64_t kUnsignedSpanSlackMs = 500;
inline std::int64_t unsigned_span_limit_ms(std::uint64_t interval_ms) {
  constexpr std::uint64_t kYearMs = 365ull * 24 * 3600 * 1000;  // no overflow below
  return static_cast<std::int64_t>(interval_ms < kYearMs ? interval_ms : kYearMs) +
         kUnsignedSpanSlackMs;
}

// Whether the records after a head lie within its window: fed their seqs
// and stamps in order, it returns the problem at the first one stamped more
// than unsigned_span_limit_ms() after the oldest stamp before it. Records
// without a stamp, or stamped at or after `started` (appended while this
// runs, after newer heads), are not held to it.
class HeadWindow {
 public:
  HeadWindow(const Head& head, std::int64_t started_ms) : head_(head), started_(started_ms) {}
  std::optional<std::string> add(std::uint64_t seq, std::string_view ts);

 private:
  const Head& head_;
  std::int64_t started_;
  std::optional<std::pair<std::int64_t, std::uint64_t>> oldest_;  // (stamp, seq)
};

// The text the head's signature covers.
std::string head_message(const Head& h, std::string_view fingerprint);
// The file's content: exactly kHeadFileBytes, ending in '\n'.
std::string format_head(const Head& h);
// nullopt when `text` is neither a head nor a legacy head.
std::optional<Head> parse_head(std::string_view text);

}  // namespace bastion::audit
