// What the gateway changes on the wire when a client and an upstream speak
// different eras of MCP (protocol/era.hpp): the per-request `_meta` of a
// Modern upstream, the Modern keys a Legacy upstream must not see, the
// Streamable HTTP headers of a Modern request, and the `server/discover`
// probe that tells an upstream's era. Pure functions, no I/O.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/channel.hpp"
#include "gateway/relay.hpp"
#include "protocol/expected.hpp"

namespace bastion::gateway {

// Which era Bastion speaks to an upstream (`era:` in a server's config).
enum class UpstreamEra {
  kAuto,    // probe with server/discover, fall back to initialize (spec basic/versioning)
  kLegacy,  // initialize only (a server that misbehaves on the probe)
  kModern,  // server/discover must succeed
};
std::optional<UpstreamEra> parse_upstream_era(std::string_view s);
std::string_view to_string(UpstreamEra e);

// Removes the Modern per-request keys (protocol version, client
// capabilities, client info, log level) from `params._meta` before a
// request goes to a Legacy upstream: a dual-era upstream would otherwise
// serve it as a Modern request on a Legacy session. progressToken, trace
// context and any other key stay; an emptied `_meta` is removed.
void strip_modern_meta(boost::json::object& params);

// Gives `params._meta` the per-request fields a Modern upstream requires:
// Bastion's version, identity and capabilities replace whatever the client
// sent (the upstream talks to Bastion, not to the client). `log_level` empty:
// none (the upstream sends no notifications/message).
void set_modern_meta(boost::json::object& params, std::string_view version,
                     const boost::json::object& client_info,
                     const boost::json::object& capabilities, std::string_view log_level = {});

// The client capabilities Bastion declares on one request to a Modern
// upstream: what the calling client declared, reduced to what the server's
// `relay` setting lets through (sampling, elicitation, roots).
boost::json::object modern_client_capabilities(const RelayOptions& relay,
                                               const boost::json::object& client_caps);

// The Streamable HTTP headers of a Modern request (spec streamable-http):
// MCP-Protocol-Version from its `_meta`, Mcp-Method, and Mcp-Name for the
// methods that name a tool, prompt or resource (Base64 sentinel form when
// the value is not plain printable ASCII). Empty for a Legacy message.
std::vector<std::pair<std::string, std::string>> modern_http_headers(
    const boost::json::object& msg);

// The Mcp-Param-* headers of a tools/call `msg` to a Modern upstream: its
// annotated arguments (protocol::mirror_param_headers) by the annotations
// `lookup` gives for params.name; none for other methods. A problem when an
// argument cannot be carried (the call is refused before it is sent).
protocol::Expected<std::vector<std::pair<std::string, std::string>>, protocol::HeaderProblem>
mirror_tool_params(const boost::json::object& msg, const ParamHeaderLookup& lookup);

// What a server/discover result says, when it names a Modern version Bastion
// speaks (the newest one both know).
struct Discovered {
  std::string version;
  boost::json::object capabilities;
  boost::json::object server_info;
  std::string instructions;
  // It lists a Legacy version Bastion speaks too (a dual-era server).
  bool legacy_too = false;
};
struct ProbeError {
  std::string reason;
};
protocol::Expected<Discovered, ProbeError> read_discover(const boost::json::object& result);

// An error answer to server/discover that only a Modern server gives
// (UnsupportedProtocolVersion, HeaderMismatch, MissingRequiredClientCapability):
// the server is Modern, and falling back to initialize would be wrong.
bool is_modern_error(int code);

// A result of a Modern upstream as a Legacy client must see it: the Modern
// fields (`resultType: complete`, `ttlMs`, `cacheScope`, the server's
// identity in `_meta`) removed. Modern clients get Bastion's own.
void strip_modern_result(boost::json::object& result);

}  // namespace bastion::gateway
