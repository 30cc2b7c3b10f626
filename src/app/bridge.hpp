// `bastion connect`: a stdio MCP server that relays every message to a
// remote Streamable HTTP endpoint (a Bastion /mcp), for clients that can only
// spawn commands. Requests read before EOF on stdin are still answered.
#pragma once

#include <map>
#include <string>

namespace bastion::app {

struct BridgeOptions {
  std::string url;                             // http://host:port/mcp
  std::map<std::string, std::string> headers;  // e.g. Authorization: Bearer ...
  bool legacy_sse = false;
};

// Runs until stdin closes (and answers arrived) or the remote fails.
// Returns the process exit code.
int run_bridge(const BridgeOptions& opts);

}  // namespace bastion::app
