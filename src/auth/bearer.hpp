// The bearer check on the resource side (RFC 6750): the pieces of
// AuthServer::authenticate and require_scope (defined in bearer.cpp) that are
// pure functions, exposed for tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "auth/server.hpp"

namespace bastion::auth {

// RFC 6750 §2.1 b64token syntax: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
// "+" / "/" ) *"=".
bool valid_b64token(std::string_view t);

// A `status` response (400/401/403) with the WWW-Authenticate Bearer challenge
// (realm, resource_metadata, and error, error_description and scope when
// given) and the same fields as a JSON body; no error code without credentials
// (RFC 6750 §3.1).
// 503 temporarily_unavailable with Retry-After: what a refusal becomes while
// the audit log cannot record it (fail closed).
Response audit_unavailable_response(const Request& req);

// The scopes a client should ask for (MCP scope selection): the 401 scope
// hint and the protected resource metadata's scopes_supported. mcp.access,
// and with sign-in offline_access, which a refresh token needs. MCP
// 2026-07-28 says a resource SHOULD NOT name offline_access there (clients
// MAY add it when the authorization server metadata lists it, as ours does),
// but clients that follow its scope selection (the TypeScript SDK) ask for
// exactly these scopes and never add it, so they would never get a refresh
// token. The resource does not require it.
std::vector<std::string> advertised_scopes(bool signin_enabled);

Response bearer_challenge(const Request& req, http::status status, std::string_view realm,
                          const std::string& metadata_url, std::string_view error,
                          std::string_view description, std::string_view scope = {});

}  // namespace bastion::auth
