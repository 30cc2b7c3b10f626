// Where a top-level member's value sits in a JSON object's text, byte for
// byte: what lets the gateway relay an upstream's `result` as the upstream
// wrote it (numbers such as 1.50 unchanged, no rebuild) when nothing changed
// it. Boost.JSON keeps no source offsets, so this is a small scan of text
// that parse_json() has already accepted: it only finds boundaries, the
// validation (UTF-8, escapes, numbers, duplicate keys) is the parser's.
//
// Pure function; thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace bastion::protocol {

// The text of the value of the top-level member `key` of the JSON object in
// `text`, without the whitespace around it. nullopt, so the caller rebuilds
// from the parsed value instead, whenever the answer could be doubtful:
//   - `text` is not one object (whitespace around it aside), or the scan
//     meets anything it does not expect (it never reads past `text`);
//   - `key` occurs more than once at the top level;
//   - any top-level key is written with an escape (`"res\u0075lt"` may be
//     `key`; parse_json compares keys after decoding, this scan does not);
//   - the value's text holds a CR or LF (JSON allows them only as whitespace
//     between tokens; a relayed value goes into newline-framed stdio lines
//     and SSE `data:` lines, so it must be one line).
// Meant for text parse_json() accepted: then the span, parsed on its own,
// is the parsed object's member (fuzz/jsonrpc checks it). On other text the
// answer is some span of `text` or nullopt, never an out-of-bounds read.
std::optional<std::string_view> member_text(std::string_view text, std::string_view key);

}  // namespace bastion::protocol
