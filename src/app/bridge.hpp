// `bastion connect`: a stdio MCP server that relays every message to a
// remote Streamable HTTP endpoint (a Bastion /mcp), for clients that can only
// spawn commands. Requests read before EOF on stdin are still answered.
// With client credentials it is the seed's "the tool gets a token, then
// calls the protected resource" flow, for every client.
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace bastion::app {

struct BridgeOptions {
  std::string url;                             // http://host:port/mcp
  std::map<std::string, std::string> headers;  // e.g. Authorization: Bearer ...
  bool legacy_sse = false;
  // Client credentials: when client_id is set, the bridge fetches a token
  // from <auth_url>/oauth2/token (default: the origin of `url`), sends it as
  // a bearer token, and fetches a new one before it expires or after a 401.
  std::string client_id, client_secret, scope, auth_url;
  // --login: sign the user in with the authorization code flow instead
  // (login_tokens.hpp); client_id is then an optional public client.
  bool login = false;
  bool open_browser = true;
  std::string state_dir;
  // A longer line on stdin gets a parse error and is dropped as it arrives.
  std::size_t max_line_bytes = 16 * 1024 * 1024;
};

// Runs until stdin closes (and answers arrived) or the remote fails.
// Returns the process exit code.
int run_bridge(const BridgeOptions& opts);

}  // namespace bastion::app
