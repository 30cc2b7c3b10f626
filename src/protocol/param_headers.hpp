// `x-mcp-header` annotations in a tool's inputSchema (MCP 2026-07-28,
// basic/transports/streamable-http §Custom Headers from Tool Parameters):
// which tool parameters a Streamable HTTP client mirrors into
// `Mcp-Param-{Name}` headers, and whether a definition's annotations are
// valid. A client MUST exclude a tool whose annotations are not from
// tools/list; the gateway does so when it admits an upstream's catalogue,
// so no client behind it sees one. Pure functions; thread-safe.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <vector>

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

}  // namespace bastion::protocol
