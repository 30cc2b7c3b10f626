// Bastion's scope model: which MCP servers and tools a token's scopes open.
//
// Grammar (each is one RFC 6749 §3.3 scope-token):
//   mcp.access                     everything (the seed's scope)
//   mcp:server:<server>            every tool of upstream <server>
//   mcp:tool:<server>/<tool>       one tool of <server>
// <server> is 1+ characters of [A-Za-z0-9._-]; <tool> is 1+ scope-token
// characters (anything printable but space, '"' and '\'). Other scope tokens
// are allowed (clients may carry them for their own use) but open nothing.
#pragma once

#include <boost/json/array.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/principal.hpp"

namespace bastion::auth {

inline constexpr std::string_view kScopeAll = "mcp.access";
inline constexpr std::string_view kScopeServerPrefix = "mcp:server:";
inline constexpr std::string_view kScopeToolPrefix = "mcp:tool:";

// RFC 6749 §3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ).
bool valid_scope_token(std::string_view s);
bool valid_server_name(std::string_view s);

std::string server_scope(std::string_view server);
std::string tool_scope(std::string_view server, std::string_view tool);

// Whether holding `granted` implies `requested` (used to down-scope token
// requests): equal, or mcp.access over any mcp:server/mcp:tool scope, or
// mcp:server:S over mcp:tool:S/<any>.
bool scope_covers(std::string_view granted, std::string_view requested);
bool scopes_cover(const std::vector<std::string>& granted, std::string_view requested);

// What a client asks for from a protected resource's `scopes_supported`
// (RFC 9728), which the resource's owner wrote: its valid scope-tokens, once
// each, in its order, at most kMaxAdvertisedScopes of them and
// kMaxAdvertisedScopeBytes in all (a hostile list cannot make the sign-in
// URL unusable); offline_access, when listed, is kept even past the bound.
inline constexpr std::size_t kMaxAdvertisedScopes = 64;
inline constexpr std::size_t kMaxAdvertisedScopeBytes = 2048;
std::vector<std::string> scopes_to_request(const boost::json::array& scopes_supported);

// Whether `p` may see and call `tool` of `server`. An unauthenticated
// principal is the local/anonymous caller that exists only when auth is off
// (or on stdio), so it may use everything; authenticate() never yields it
// while auth is required.
bool may_use(const protocol::Principal& p, std::string_view server, std::string_view tool);
// Whether `p` may use at least one tool of `server` (to hide whole servers).
bool may_use_server(const protocol::Principal& p, std::string_view server);

}  // namespace bastion::auth
