// `x-mcp-header` annotations in a tool's inputSchema (MCP 2026-07-28,
// basic/transports/streamable-http §Custom Headers from Tool Parameters):
// which tool parameters a Streamable HTTP client mirrors into
// `Mcp-Param-{Name}` headers, whether a definition's annotations are valid
// (a client MUST exclude a tool whose annotations are not from tools/list;
// the gateway does so when it admits an upstream's catalogue, so no client
// behind it sees one), how a value is written into its header (the client
// side: the gateway calling a Modern upstream), and whether the headers of
// a received tools/call agree with its arguments (the server side).
// Pure functions; thread-safe.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/expected.hpp"

namespace bastion::protocol {

// One annotated parameter: the header's name part and the chain of
// `properties` keys leading to the parameter from the schema root.
struct ParamHeader {
  std::string name;               // "Region" for Mcp-Param-Region
  std::vector<std::string> path;  // {"region"}, or {"target", "region"}
  std::string type;               // "string", "integer" or "boolean"
};

// The annotations of `input_schema`, or why they are invalid: a value that
// is empty, not an RFC 9110 token, or repeated (case-insensitively); one on
// a parameter whose type is not integer, string or boolean (number is not
// allowed); one anywhere but on a property reached from the root through
// `properties` keys only (not through items, oneOf/anyOf/allOf/not,
// if/then/else, $ref, $defs, ...).
struct ParamHeaders {
  std::vector<ParamHeader> headers;
  std::optional<std::string> problem;  // set: the definition is invalid
};
ParamHeaders param_headers(const boost::json::value& input_schema);

inline constexpr std::string_view kParamHeaderPrefix = "Mcp-Param-";
// The longest header value (as sent, after encoding) Bastion mirrors, and
// the most it mirrors into one request in all: an upstream behind a usual
// 8-16 KiB header limit would refuse more, and an annotation on a large
// argument must not make Bastion emit an unbounded header.
inline constexpr std::size_t kMaxParamHeaderValue = 4096;
inline constexpr std::size_t kMaxParamHeaderTotal = 8192;

struct HeaderProblem {
  std::string reason;  // names the header and the parameter, never the value
};

// The header form of an argument (spec §Value Encoding): a string as it is
// when it is printable ASCII without leading or trailing blanks and not
// shaped like the sentinel, else `=?base64?{Base64 of its UTF-8}?=`; an
// integer in decimal (also a number with an integral value, 42.0 -> 42);
// a boolean as `true`/`false`. A problem for what has no header form (an
// object, an array, a fractional number, null).
Expected<std::string, HeaderProblem> encode_header_value(const boost::json::value& v);
// The same for a string (also Mcp-Name's form of a name or URI).
std::string encode_header_text(std::string_view s);

// A received Mcp-Name or Mcp-Param value after optional-whitespace
// trimming: the `=?base64?{...}?=` form decoded (strict RFC 4648 Base64
// with padding), any other value as it is; nullopt for a sentinel whose
// Base64 is invalid. Values are compared byte for byte afterwards, so a
// decoded value that is not UTF-8 never matches a body string.
std::optional<std::string> decode_header_value(std::string_view v);

// The Mcp-Param-{Name} headers (full name, value) a client sends with a
// tools/call of a tool annotated with `annotations` (param_headers()):
// one per annotated argument present and not null in `arguments` (the
// call's params.arguments, nullptr when it has none). A problem when an
// annotated argument has no header form or exceeds the bounds above.
Expected<std::vector<std::pair<std::string, std::string>>, HeaderProblem> mirror_param_headers(
    const std::vector<ParamHeader>& annotations, const boost::json::value* arguments);

// The Mcp-Param-* headers of a received HTTP request: the part of each
// name after the prefix, as sent, and the raw value.
using ReceivedParamHeaders = std::vector<std::pair<std::string, std::string>>;

// Server validation of a tools/call's custom headers (spec §Server
// Behavior for Custom Headers, §Server Validation): every annotated
// argument present and not null in `arguments` has exactly one header
// whose value, decoded, equals it (integers compared numerically, so 42.0
// matches 42; booleans as true/false; strings byte for byte); a header for
// an absent or null argument, a header naming no annotated parameter of
// the tool, a repeated one (names compare case-insensitively), invalid
// characters (anything but visible ASCII, space and tab) or invalid
// Base64 are refused. nullopt when the headers agree with the body, else
// why (for a HeaderMismatch error).
std::optional<std::string> check_param_headers(const std::vector<ParamHeader>& annotations,
                                               const ReceivedParamHeaders& received,
                                               const boost::json::value* arguments);

}  // namespace bastion::protocol
