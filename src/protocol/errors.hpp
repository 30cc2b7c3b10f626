// Every JSON-RPC error code Bastion sends, named once, with its origin. A
// code means one thing: the table below is checked for duplicates
// (errors_test.cpp), so two meanings can no longer share a number the way
// "request timeout" and "session not found" once shared -32001.
//
// The ranges (MCP 2026-07-28, basic/index §error-codes): -32700 and
// -32600..-32603 are JSON-RPC's; -32000..-32019 is legacy, implementation-
// defined, and new codes must not go there; -32020..-32099 is the MCP
// specification's alone; new codes of our own go outside -32768..-32000.
#pragma once

#include <array>
#include <string_view>

namespace bastion::protocol {

// JSON-RPC 2.0.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;

// MCP up to 2025-11-25 (Legacy).
// Resource not found (2025-06-18 §resources/errors; 2026-07-28 uses -32602).
inline constexpr int kResourceNotFound = -32002;
// URL elicitation required (2025-11-25 only).
inline constexpr int kUrlElicitationRequired = -32042;
// Streamable HTTP: the body of the 404 for an unknown (or someone else's)
// Mcp-Session-Id. The specification gives only the status; -32001 is what
// the reference TypeScript SDK's server sends, so Legacy clients see the same
// bytes from us. Legacy only: 2026-07-28 has no sessions.
inline constexpr int kSessionNotFound = -32001;

// MCP 2026-07-28 (Modern).
inline constexpr int kHeaderMismatch = -32020;
inline constexpr int kMissingRequiredClientCapability = -32021;
inline constexpr int kUnsupportedProtocolVersion = -32022;

// Bastion's own. -32010..-32013 predate the 2026-07-28 allocation policy
// (grandfathered legacy codes); -32800 is the Language Server Protocol's
// RequestCancelled; newer codes sit outside the JSON-RPC reserved range.
inline constexpr int kUpstreamUnavailable = -32010;
inline constexpr int kPolicyRejected = -32011;
inline constexpr int kForbidden = -32012;
// The audit log cannot record the call (disk full): refused before it runs.
inline constexpr int kAuditUnavailable = -32013;
inline constexpr int kRequestCancelled = -32800;
// A bounded resource is used up (too many open subscriptions).
inline constexpr int kResourceExhausted = -31000;
// A request Bastion sent (to an upstream server, or to the client) got no
// answer in time. Raised here, not by the peer: 2026-07-28 assigns local
// errors no code and asks that they cannot be mistaken for the peer's.
inline constexpr int kRequestTimeout = -31001;

struct ErrorCodeName {
  int code;
  std::string_view name;
};

inline constexpr std::array kErrorCodes = {
    ErrorCodeName{kParseError, "ParseError"},
    ErrorCodeName{kInvalidRequest, "InvalidRequest"},
    ErrorCodeName{kMethodNotFound, "MethodNotFound"},
    ErrorCodeName{kInvalidParams, "InvalidParams"},
    ErrorCodeName{kInternalError, "InternalError"},
    ErrorCodeName{kResourceNotFound, "ResourceNotFound"},
    ErrorCodeName{kUrlElicitationRequired, "UrlElicitationRequired"},
    ErrorCodeName{kSessionNotFound, "SessionNotFound"},
    ErrorCodeName{kHeaderMismatch, "HeaderMismatch"},
    ErrorCodeName{kMissingRequiredClientCapability, "MissingRequiredClientCapability"},
    ErrorCodeName{kUnsupportedProtocolVersion, "UnsupportedProtocolVersion"},
    ErrorCodeName{kUpstreamUnavailable, "UpstreamUnavailable"},
    ErrorCodeName{kPolicyRejected, "PolicyRejected"},
    ErrorCodeName{kForbidden, "Forbidden"},
    ErrorCodeName{kAuditUnavailable, "AuditUnavailable"},
    ErrorCodeName{kRequestCancelled, "RequestCancelled"},
    ErrorCodeName{kResourceExhausted, "ResourceExhausted"},
    ErrorCodeName{kRequestTimeout, "RequestTimeout"},
};

// The name of a code in the table ("RequestTimeout"); "" for others (an
// upstream's own codes, relayed as they are).
constexpr std::string_view error_code_name(int code) {
  for (const auto& e : kErrorCodes)
    if (e.code == code) return e.name;
  return {};
}

}  // namespace bastion::protocol
