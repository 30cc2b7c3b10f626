#include "auth/safe_fetch.hpp"

#include <fcntl.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cctype>

#include "protocol/version.hpp"

namespace bastion::auth {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::ip::address;

// --- addresses -------------------------------------------------------------------

namespace {

bool in_any(const address& a, std::initializer_list<std::string_view> nets) {
  for (auto n : nets)
    if (auto net = IpNetwork::parse(n); net && net->contains(a)) return true;
  return false;
}

}  // namespace

bool is_public_address(const address& a) {
  if (a.is_v6()) {
    auto v6 = a.to_v6();
    if (v6.is_v4_mapped())
      return is_public_address(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
    auto b = v6.to_bytes();
    // IPv4-compatible ::a.b.c.d (deprecated): judge the IPv4 address.
    if (std::all_of(b.begin(), b.begin() + 12, [](unsigned char c) { return c == 0; }) &&
        !v6.is_loopback() && !v6.is_unspecified()) {
      asio::ip::address_v4::bytes_type v4{b[12], b[13], b[14], b[15]};
      return is_public_address(asio::ip::address_v4(v4));
    }
    if (!in_any(a, {"2000::/3"})) return false;  // only global unicast
    return !in_any(a, {"2001::/23",              // IETF protocol assignments (Teredo, ORCHID, ...)
                       "2001:db8::/32",          // documentation
                       "2002::/16",              // 6to4: carries an IPv4 address anywhere
                       "64:ff9b::/96", "3fff::/20"});
  }
  return !in_any(
      a, {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
          "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
          "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"});
}

void parse_cache_control(std::string_view v, FetchedDocument& doc) {
  std::string s(v);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t i = 0;
  while (i < s.size()) {
    auto j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string d = s.substr(i, j - i);
    while (!d.empty() && d.front() == ' ') d.erase(0, 1);
    while (!d.empty() && d.back() == ' ') d.pop_back();
    if (d == "no-store") doc.no_store = true;
    if (d == "no-cache") doc.max_age = 0;
    if (d.rfind("max-age=", 0) == 0) {
      try {
        long long n = std::stoll(d.substr(8));
        if (n >= 0 && (!doc.max_age || *doc.max_age != 0)) doc.max_age = n;
      } catch (...) {
      }
    }
    i = j + 1;
  }
}

// --- fetching ----------------------------------------------------------------------

namespace {

struct Hop {
  std::string host;  // as in the URL (brackets stripped for IPv6)
  std::string port;
  std::string target;
};

Result<Hop> check_url(const std::string& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return fail("'" + url + "' is not an absolute URL");
  if (u->scheme() != "https") return fail("only https URLs are fetched (" + url + ")");
  if (u->has_userinfo()) return fail("URLs with credentials are not fetched");
  Hop h;
  h.host = std::string(u->host());  // decoded
  if (u->host_type() == boost::urls::host_type::ipv6)
    h.host = std::string(u->encoded_host_address());
  if (h.host.empty()) return fail("URL has no host");
  h.port = u->has_port() ? std::string(u->port()) : "443";
  h.target = std::string(u->encoded_path());
  if (h.target.empty()) h.target = "/";
  if (u->has_query()) h.target += "?" + std::string(u->encoded_query());
  return h;
}

bool allowed(const address& a, const SafeFetchOptions& o) {
  if (is_public_address(a)) return true;
  return std::any_of(o.allow.begin(), o.allow.end(),
                     [&](const IpNetwork& n) { return n.contains(a); });
}

}  // namespace

Result<FetchedDocument> safe_fetch(const std::string& start_url, const SafeFetchOptions& o) {
  auto deadline = std::chrono::steady_clock::now() + o.timeout;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  };
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx.set_default_verify_paths();
  if (!o.ca_file.empty()) {
    boost::system::error_code ec;
    ctx.load_verify_file(o.ca_file, ec);
    if (ec) return fail("cannot load the CA file " + o.ca_file + ": " + ec.message());
  }
  ctx.set_verify_mode(ssl::verify_peer);

  std::string url = start_url;
  for (int hop = 0;; ++hop) {
    auto h = check_url(url);
    if (!h) return h.error();
    if (!o.allow_hosts.empty() &&
        std::find(o.allow_hosts.begin(), o.allow_hosts.end(), h->host) == o.allow_hosts.end())
      return fail("documents from " + h->host + " are not accepted here" +
                  (hop > 0 ? " (a redirect from " + start_url + ")" : ""));
    if (left().count() <= 0) return fail("timed out fetching " + start_url);
    asio::io_context ioc;
    // Resolve with the deadline (getaddrinfo runs on Asio's resolver thread).
    tcp::resolver resolver(ioc);
    tcp::resolver::results_type results;
    boost::system::error_code rec = asio::error::timed_out;
    resolver.async_resolve(h->host, h->port, [&](boost::system::error_code ec, auto r) {
      rec = ec;
      results = std::move(r);
    });
    ioc.run_for(left());
    if (rec == asio::error::timed_out) {
      resolver.cancel();
      return fail("timed out resolving " + h->host);
    }
    if (rec) return fail("cannot resolve " + h->host + ": " + rec.message());
    std::vector<tcp::endpoint> endpoints;
    for (const auto& r : results) {
      if (!allowed(r.endpoint().address(), o))
        return fail(h->host + " resolves to " + r.endpoint().address().to_string() +
                    ", which is not a public address (refused: SSRF guard)");
      endpoints.push_back(r.endpoint());
    }
    if (endpoints.empty()) return fail("cannot resolve " + h->host);
    ioc.restart();

    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    boost::system::error_code ec;
    boost::system::error_code step = asio::error::timed_out;
    beast::get_lowest_layer(stream).expires_after(left());
    // Connect to the checked addresses only (no second resolution).
    beast::get_lowest_layer(stream).async_connect(
        endpoints, [&](boost::system::error_code e, const tcp::endpoint&) { step = e; });
    ioc.run();
    ioc.restart();
    if (step) return fail("cannot connect to " + h->host + ": " + step.message());
    ::fcntl(beast::get_lowest_layer(stream).socket().native_handle(), F_SETFD, FD_CLOEXEC);
    boost::system::error_code is_ip;
    asio::ip::make_address(h->host, is_ip);
    if (is_ip && !SSL_set_tlsext_host_name(stream.native_handle(), h->host.c_str()))
      return fail("TLS setup failed for " + h->host);
    stream.set_verify_callback(ssl::host_name_verification(h->host));
    step = asio::error::timed_out;
    stream.async_handshake(ssl::stream_base::client,
                           [&](boost::system::error_code e) { step = e; });
    ioc.run();
    ioc.restart();
    if (step) return fail("TLS handshake with " + h->host + " failed: " + step.message());

    http::request<http::empty_body> req{http::verb::get, h->target, 11};
    std::string host_header =
        h->host.find(':') != std::string::npos ? "[" + h->host + "]" : h->host;
    if (h->port != "443") host_header += ":" + h->port;
    req.set(http::field::host, host_header);
    req.set(http::field::accept, o.accept);
    req.set(http::field::user_agent, protocol::user_agent());
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(o.max_bytes);
    parser.header_limit(16 * 1024);
    step = asio::error::timed_out;
    http::async_write(stream, req, [&](boost::system::error_code e, std::size_t) {
      if (e) {
        step = e;
        return;
      }
      http::async_read(stream, buf, parser,
                       [&](boost::system::error_code e2, std::size_t) { step = e2; });
    });
    ioc.run();
    ioc.restart();
    if (step == http::error::body_limit)
      return fail("the document at " + url + " is larger than " + std::to_string(o.max_bytes) +
                  " bytes");
    if (step) return fail("reading " + url + " failed: " + step.message());
    beast::get_lowest_layer(stream).socket().close(ec);
    auto res = parser.release();
    unsigned status = res.result_int();
    if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
      if (hop >= o.max_redirects)
        return fail("too many redirects fetching " + start_url + " (at most " +
                    std::to_string(o.max_redirects) + ")");
      std::string loc(res[http::field::location]);
      auto base = boost::urls::parse_absolute_uri(url);
      auto ref = boost::urls::parse_uri_reference(loc);
      if (loc.empty() || !base || !ref) return fail("a redirect without a usable Location");
      boost::urls::url next;
      boost::urls::resolve(*base, *ref, next);
      next.remove_fragment();
      url = std::string(next.buffer());
      continue;
    }
    if (status != 200) return fail("fetching " + url + " answered HTTP " + std::to_string(status));
    FetchedDocument doc;
    doc.url = url;
    doc.body = std::move(res.body());
    doc.content_type = std::string(res[http::field::content_type]);
    parse_cache_control(res[http::field::cache_control], doc);
    return doc;
  }
}

}  // namespace bastion::auth
