#include "transport/request_guards.hpp"

#include <fmt/format.h>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>

#include "protocol/printable.hpp"
#include "protocol/version.hpp"
#include "transport/field_value.hpp"

namespace bastion::transport {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Host part of "host[:port]" / "[v6]:port".
std::string host_part(std::string_view h) {
  h = trim(h);
  if (!h.empty() && h.front() == '[') {
    auto close = h.find(']');
    return lower(h.substr(0, close == std::string_view::npos ? h.size() : close + 1));
  }
  auto colon = h.rfind(':');
  if (colon != std::string_view::npos && h.find(':') == colon) h = h.substr(0, colon);
  return lower(h);
}

bool is_loopback_name(std::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host == "::1";
}

Refusal framing(http::status status, std::string message) {
  return Refusal{status, -32600, std::move(message), nullptr, true};
}

}  // namespace

std::optional<Refusal> check_raw_header(std::string_view block) {
  // Every "\r\n" followed by a space or a tab, before the final blank line,
  // starts a folded continuation (or, right after the request line,
  // whitespace before the first field).
  std::size_t end = block.size() >= 4 ? block.size() - 4 : 0;
  for (auto p = block.find("\r\n"); p != std::string_view::npos && p < end;
       p = block.find("\r\n", p + 2)) {
    char next = block[p + 2];
    if (next == ' ' || next == '\t')
      return framing(http::status::bad_request,
                     "Bad Request: obsolete line folding in a header is not accepted");
  }
  return std::nullopt;
}

std::optional<Refusal> check_framing(const http::request_header<>& h) {
  auto hosts = field_count(h, http::field::host);
  if (hosts > 1)
    return framing(http::status::bad_request, "Bad Request: more than one Host header");
  if (hosts == 0 && h.version() >= 11)
    return framing(http::status::bad_request, "Bad Request: the Host header is required");
  auto encodings = field_count(h, http::field::transfer_encoding);
  if (encodings == 0) return std::nullopt;
  if (encodings > 1)
    return framing(http::status::bad_request,
                   "Bad Request: more than one Transfer-Encoding header");
  if (h.version() < 11)
    return framing(http::status::bad_request,
                   "Bad Request: Transfer-Encoding is not allowed in HTTP/1.0");
  if (field_count(h, http::field::content_length) > 0)
    return framing(http::status::bad_request,
                   "Bad Request: both Content-Length and Transfer-Encoding");
  auto te = trim(std::string_view(field_value(h, http::field::transfer_encoding)));
  if (lower(te) != "chunked")
    return framing(http::status::not_implemented,
                   fmt::format("Not Implemented: Transfer-Encoding '{}' (only 'chunked' is "
                               "supported)",
                               protocol::printable(te, 64)));
  return std::nullopt;
}

Admission admit(const http::request_header<>& h, const GuardOptions& opts) {
  // DNS rebinding: a browser page on another origin must not reach a local
  // server, and a rebound name must not pass as a local Host.
  if (!host_allowed(field_value(h, http::field::host), opts.allowed_hosts, opts.loopback_only))
    return {Refusal{http::status::forbidden, -32600, "Forbidden: Host header not allowed"}, false};
  auto origin = field_value(h, http::field::origin);
  if (origin.empty()) return {};
  if (field_count(h, http::field::origin) > 1 || !origin_allowed(origin, opts.allowed_origins))
    return {Refusal{http::status::forbidden, -32600, "Forbidden: Origin not allowed"}, false};
  return {std::nullopt, true};
}

std::optional<Refusal> check_protocol_version(const http::request_header<>& h,
                                              const boost::json::value& id) {
  auto pv = field_value(h, "MCP-Protocol-Version");
  if (pv.empty() || protocol::is_supported_version(pv)) return std::nullopt;
  return Refusal{http::status::bad_request, -32600,
                 // Echoed escaped: raw bytes of any value would make the JSON-RPC error
                 // body invalid UTF-8 (found by fuzz/http_request).
                 fmt::format("Bad Request: unsupported MCP-Protocol-Version '{}'",
                             protocol::printable(pv, 64)),
                 id};
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed) {
  origin = trim(origin);
  if (!allowed.empty()) {
    for (const auto& a : allowed)
      if (a == "*" || lower(a) == lower(origin)) return true;
    return false;
  }
  // Default: loopback origins only.
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return false;
  auto scheme = lower(origin.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return false;
  auto rest = origin.substr(scheme_end + 3);
  auto slash = rest.find('/');
  if (slash != std::string_view::npos) rest = rest.substr(0, slash);
  return is_loopback_name(host_part(rest));
}

bool host_allowed(std::string_view host_header, const std::vector<std::string>& allowed,
                  bool loopback_only) {
  std::string host = host_part(host_header);
  if (host.empty()) return false;
  if (!allowed.empty()) {
    for (const auto& a : allowed)
      if (a == "*" || lower(a) == host) return true;
    return false;
  }
  return !loopback_only || is_loopback_name(host);
}

bool route_host_allowed(std::string_view host_header, const GuardOptions& opts) {
  if (host_allowed(host_header, opts.allowed_hosts, opts.loopback_only)) return true;
  std::string host = host_part(host_header);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !host.empty() && !ec;
}

bool accepts(std::string_view accept_header, std::string_view media_type) {
  // Compared case-insensitively in place (no lowered copies: every POST
  // asks this twice).
  const auto slash = media_type.find('/');
  const std::string_view type = media_type.substr(0, slash);
  std::size_t pos = 0;
  while (pos <= accept_header.size()) {
    auto comma = accept_header.find(',', pos);
    auto item = accept_header.substr(
        pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    auto semi = item.find(';');
    const std::string_view mt = trim(item.substr(0, semi));
    const bool type_wild = mt.size() == type.size() + 2 && mt.substr(type.size()) == "/*" &&
                           boost::beast::iequals(mt.substr(0, type.size()), type);
    if (boost::beast::iequals(mt, media_type) || type_wild || mt == "*/*") return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

bool is_json_content_type(std::string_view ct) {
  auto semi = ct.find(';');
  return boost::beast::iequals(trim(ct.substr(0, semi)), "application/json");
}

}  // namespace bastion::transport
