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
// are chained but unsigned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

// The text the head's signature covers.
std::string head_message(const Head& h, std::string_view fingerprint);
// The file's content: exactly kHeadFileBytes, ending in '\n'.
std::string format_head(const Head& h);
// nullopt when `text` is neither a head nor a legacy head.
std::optional<Head> parse_head(std::string_view text);

}  // namespace bastion::audit
