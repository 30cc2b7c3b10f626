// The two eras of MCP and the one place that tells them apart.
//
// Legacy (2025-11-25 and earlier) opens a session with `initialize`; Modern
// (2026-07-28, spec basic/versioning) is stateless: every request carries its
// protocol version, client capabilities, client info and log level in
// `params._meta`, answers carry `resultType`, and the error codes -32020..-32022
// exist. Transports, the session engine and (later) the gateway ask this module
// which era a message belongs to and what its per-request metadata says;
// nothing else inspects `_meta` protocol keys.
#pragma once

#include <array>
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/expected.hpp"
#include "protocol/jsonrpc.hpp"

namespace bastion::protocol {

enum class Era { kLegacy, kModern };

// Modern versions Bastion serves statelessly, newest first.
inline constexpr std::array<std::string_view, 1> kModernVersions = {"2026-07-28"};
// Every version Bastion speaks, newest first (server/discover, and the
// `supported` list of UnsupportedProtocolVersionError).
inline constexpr std::array<std::string_view, 4> kAllVersions = {"2026-07-28", "2025-11-25",
                                                                 "2025-06-18", "2025-03-26"};

bool is_modern_version(std::string_view v);

// Reserved `_meta` keys (spec basic/index §_meta).
namespace meta_key {
inline constexpr std::string_view kProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view kClientCapabilities =
    "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view kClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view kLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr std::string_view kSubscriptionId = "io.modelcontextprotocol/subscriptionId";
inline constexpr std::string_view kServerInfo = "io.modelcontextprotocol/serverInfo";
inline constexpr std::string_view kTraceparent = "traceparent";
inline constexpr std::string_view kTracestate = "tracestate";
}  // namespace meta_key

// The Modern error codes (HeaderMismatch, ...) are in errors.hpp with the rest.

// The era of a request, from its params and (HTTP only) the
// MCP-Protocol-Version header ("" on stdio or when absent):
//  - `_meta` names a protocol version: Modern, unless it names a Legacy
//    version we speak (a Legacy client that mirrors its version there);
//  - otherwise a Modern MCP-Protocol-Version header makes it Modern (and
//    then malformed: its `_meta` is missing);
//  - otherwise Legacy.
Era era_of(const boost::json::object* params, std::string_view header_version = {});

// What a Modern request says about itself in `_meta`.
struct RequestMeta {
  std::string protocol_version;
  boost::json::object client_capabilities;
  boost::json::object client_info;  // empty when the client did not say
  std::string log_level;            // empty: send no notifications/message
  // W3C trace context, kept only when well-formed (for logs and upstreams).
  std::string traceparent;
  std::string tracestate;
};

// Reads and checks the per-request fields of a Modern request: a missing or
// malformed `_meta`, protocolVersion or clientCapabilities is -32602 (spec:
// "a request missing any required field is malformed"), a version we do not
// serve is UnsupportedProtocolVersionError (-32022).
Expected<RequestMeta, RpcError> read_request_meta(const boost::json::object* params);

RpcError unsupported_version(std::string_view requested);
// MissingRequiredClientCapabilityError: `required` is a ClientCapabilities
// object naming what is missing, e.g. {"sampling":{}}.
RpcError missing_client_capability(boost::json::object required);
RpcError header_mismatch(std::string message);

// Methods a Modern request may not use: removed by 2026-07-28 (spec
// changelog §5, §4) and answered with -32601 (HTTP 404).
bool removed_in_modern(std::string_view method);
// Methods whose complete results carry ttlMs/cacheScope (spec caching).
bool is_cacheable(std::string_view method);
// Methods that may answer with an InputRequiredResult (spec MRTR).
bool allows_input_required(std::string_view method);
// The Mcp-Name source field of a method ("name", "uri", "taskId"), or "" when it has none.
std::string_view mcp_name_field(std::string_view method);

// The client capability an input request needs ("sampling", "elicitation",
// "roots"), or "" for a method that is not a valid input request.
std::string_view capability_for_input_request(std::string_view method);

// A W3C traceparent (version 00: 2+32+16+2 lowercase hex, ids not all zero).
bool valid_traceparent(std::string_view v);

// `result` as a Modern client must see it: resultType ("complete" unless the
// backend said otherwise), the server's identity in `_meta`, and caching
// hints on complete results of cacheable methods (kept when already set).
struct ResultDecoration {
  boost::json::object server_info;  // {"name","version"}; empty: omitted
  std::int64_t ttl_ms = 0;
  bool private_scope = true;  // cacheScope "private" (per caller) or "public"
};
void decorate_modern_result(std::string_view method, boost::json::object& result,
                            const ResultDecoration& d);

// "resultType" of a result, "complete" when absent (spec: absent means complete).
std::string_view result_type(const boost::json::object& result);

// Canonical JSON text (object keys sorted, recursively): what a digest of
// arguments is computed over, so key order does not change it.
std::string canonical_json(const boost::json::value& v);

}  // namespace bastion::protocol
