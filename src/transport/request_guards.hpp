// Pure checks on HTTP requests before anything acts on them: framing that a
// proxy in front could read differently (duplicate Host, Transfer-Encoding
// shapes, obsolete line folding), DNS-rebinding defences (Host, Origin),
// content negotiation (Accept, Content-Type) and the CORS grant. No I/O, no
// state: table-driven tests call them directly.
#pragma once

#include <boost/beast/http.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bastion::transport {

namespace http = boost::beast::http;

// Why a request is answered with an error instead of being served.
struct Refusal {
  http::status status = http::status::bad_request;
  int code = -32600;                // JSON-RPC error code of the body (Invalid Request)
  std::string reason;               // the JSON-RPC error message
  boost::json::value id = nullptr;  // the request's id when known
  // The connection cannot be trusted past this request (its framing is in
  // doubt): answer, then close without reading further.
  bool close = false;
  boost::json::value data = nullptr;  // the JSON-RPC error's data, when any
};

// 400 with JSON-RPC Invalid Request: the common refusal of a malformed body.
inline Refusal bad_request(std::string reason, boost::json::value id = nullptr) {
  return Refusal{.reason = std::move(reason), .id = std::move(id)};
}

// --- Framing (every route) ------------------------------------------------

// The raw header block, from the request line to the blank line ("\r\n\r\n"
// included), before Beast parses it: refuses obsolete line folding (RFC 9112
// §5.2) and whitespace before the first field, which Beast would accept and
// a proxy might read differently.
std::optional<Refusal> check_raw_header(std::string_view block);

// The parsed header, before the body is read: exactly one Host (HTTP/1.1),
// Transfer-Encoding only as exactly "chunked" (else 501), never together with
// Content-Length, never in HTTP/1.0. Every refusal here closes the connection:
// the body's bytes must never be read as a next request.
std::optional<Refusal> check_framing(const http::request_header<>& h);

// --- The MCP endpoint -----------------------------------------------------

struct GuardOptions {
  std::vector<std::string> allowed_origins;  // empty: loopback origins only
  std::vector<std::string> allowed_hosts;    // empty: see host_allowed()
  bool loopback_only = false;                // listening on a loopback address
};

// What the guards decided for a request to the MCP endpoint.
struct Admission {
  std::optional<Refusal> refusal;
  // Grant CORS to the request's Origin. Only for an allowed Origin on an
  // allowed Host: a refusal never tells a foreign page it may read it.
  bool cors = false;
};
Admission admit(const http::request_header<>& h, const GuardOptions& opts);

// The CORS response headers for an admitted Origin (and Vary: Origin on every
// answer to a request that carried one, granted or not).
template <class Fields>
void apply_cors(http::header<false, Fields>& res, std::string_view origin, bool grant) {
  if (origin.empty()) return;
  res.set(http::field::vary, "Origin");
  if (!grant) return;
  res.set(http::field::access_control_allow_origin, origin);
  res.set(http::field::access_control_expose_headers, "Mcp-Session-Id, WWW-Authenticate");
}

// MCP-Protocol-Version, when present, must name a version we speak (400
// otherwise, with `id` when the request's is known).
std::optional<Refusal> check_protocol_version(const http::request_header<>& h,
                                              const boost::json::value& id);

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed);
bool host_allowed(std::string_view host_header, const std::vector<std::string>& allowed,
                  bool loopback_only);

// --- Every other route ------------------------------------------------------

// The Host check of the routes besides the MCP endpoint (/metrics, health,
// OAuth2, sign-in, console): host_allowed(), or an IP address, whatever
// allowed_hosts lists. A rebinding page's requests name its own domain,
// never an address, while health probes and metrics scrapers address a
// replica by its IP.
bool route_host_allowed(std::string_view host_header, const GuardOptions& opts);
// True when the Accept header admits `media_type` (exactly, type/*, or */*).
bool accepts(std::string_view accept_header, std::string_view media_type);
bool is_json_content_type(std::string_view content_type);

}  // namespace bastion::transport
