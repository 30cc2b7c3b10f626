// Fetching a URL that an untrusted party chose (a client's metadata document,
// its JWKS) without becoming their proxy into our network (SSRF): https only;
// every address the name resolves to must be public (not loopback, private,
// link-local, cloud metadata, multicast, reserved, or an IPv6 form of one)
// unless explicitly allowed, and the connection goes to the address that was
// checked, so a DNS answer cannot change between check and use; the same
// checks again for every redirect, and a bounded number of redirects; TLS
// with certificate and host name verification; a deadline on the whole
// fetch and a limit on the body.
//
// Thread-safety: safe_fetch is reentrant (a private io_context per call).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/ip_network.hpp"
#include "auth/result.hpp"

namespace bastion::auth {

// Whether `a` is a globally routable unicast address (what a metadata
// document host must resolve to). IPv4-mapped and IPv4-compatible IPv6
// addresses are judged by their IPv4 address.
bool is_public_address(const boost::asio::ip::address& a);

struct SafeFetchOptions {
  std::chrono::milliseconds timeout{5000};  // the whole fetch, redirects included
  std::size_t max_bytes = 64 * 1024;
  int max_redirects = 3;
  std::vector<IpNetwork> allow;  // non-public addresses allowed anyway (tests, private setups)
  // Not empty: the host of every URL fetched, each redirect's too, must be
  // one of these (else a redirect leads off an allow-listed host).
  std::vector<std::string> allow_hosts;
  std::string ca_file;  // extra trusted CAs (PEM), besides the system's
  std::string accept = "application/json";
};

struct FetchedDocument {
  std::string url;  // after redirects
  std::string body;
  std::string content_type;
  // From Cache-Control (or Expires): seconds the document may be cached;
  // nullopt when the response says nothing.
  std::optional<std::int64_t> max_age;
  bool no_store = false;
};

// GETs `url`; only a 200 response is a document. Errors say what was refused.
Result<FetchedDocument> safe_fetch(const std::string& url, const SafeFetchOptions& options);

// Cache-Control max-age / no-store / no-cache of one header value.
void parse_cache_control(std::string_view value, FetchedDocument& doc);

}  // namespace bastion::auth
