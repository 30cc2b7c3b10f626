// The seed's four OAuth2 MCP tools, backed by the live AuthServer rather than
// canned text: status, a real test token, the flow guide with this server's
// URLs, and a setup validator that actually checks files, keys and clients.
#pragma once

#include <memory>
#include <vector>

#include "auth/server.hpp"
#include "server/builtin_tool.hpp"

namespace bastion::tools {

// Issuer, algorithm, active kid, keys, clients, issued/revoked counters.
server::SyncTool get_oauth2_server_status_tool(std::shared_ptr<auth::AuthServer> as);
// Issues a real short-lived token. An authenticated caller may only mint for
// its own client_id and within its own scopes (no escalation through the
// tool); the anonymous local caller (auth off, stdio) may pick any client.
server::SyncTool create_oauth2_test_token_tool(std::shared_ptr<auth::AuthServer> as);
// The client-credentials flow with this server's URLs and curl commands.
server::SyncTool get_oauth2_flow_guide_tool(std::shared_ptr<auth::AuthServer> as);
// Pass/warn/fail checks with reasons: key files 0600, JWKS, sign+verify round
// trip, hashed client secrets, issuer URL.
server::SyncTool validate_oauth2_setup_tool(std::shared_ptr<auth::AuthServer> as);

std::vector<server::SyncTool> oauth2_tools(std::shared_ptr<auth::AuthServer> as);

}  // namespace bastion::tools
