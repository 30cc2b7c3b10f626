// HTTP response helpers shared by the OAuth endpoints (server.cpp) and the
// bearer check (bearer.cpp): JSON responses with the caching headers RFC 6749
// asks for, 405 responses, and the header-value parsing both need.
#pragma once

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/server.hpp"
#include "protocol/expected.hpp"

namespace bastion::auth {

// ASCII case-insensitive comparison (HTTP scheme and media type names).
using boost::beast::iequals;
// Strips spaces and tabs at both ends (optional whitespace, RFC 9110 §5.6.3).
std::string_view trim(std::string_view s);
// HTTP Basic (RFC 7617): an Authorization header value "Basic base64(user-id
// ":" password)", the scheme in any case. kNotBasic for another scheme (or
// none), kMalformed for bad base64 (standard alphabet, padded) or no colon.
struct BasicCredentials {
  std::string id, secret;
};
enum class BasicError { kNotBasic, kMalformed };
using BasicResult = protocol::Expected<BasicCredentials, BasicError>;
BasicResult parse_basic(std::string_view value);
// client_secret_basic (RFC 6749 §2.3.1): parse_basic, then both parts are
// form-urlencoded: kMalformed also for a bad %-escape or an empty id.
BasicResult parse_basic_credentials(std::string_view value);
// `body` as application/json; `no_store` adds Cache-Control: no-store and
// Pragma: no-cache (RFC 6749 §5.1).
Response json_response(const Request& req, http::status status, const boost::json::value& body,
                       bool no_store);
// 405 with an Allow header and an invalid_request body.
Response method_not_allowed(const Request& req, std::string_view allow);

}  // namespace bastion::auth
