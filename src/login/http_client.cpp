#include "login/http_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "protocol/version.hpp"

namespace bastion::login {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

bool loopback_http_url(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || u->scheme() != "http") return false;
  std::string host(u->encoded_host());
  if (host == "localhost" || host == "[::1]") return true;
  boost::system::error_code ec;
  auto a = asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

namespace {

template <class Stream>
auth::Result<HttpReply> exchange(Stream& stream, const HttpCall& call, const std::string& host,
                                 const std::string& target) {
  http::request<http::string_body> req{call.method == "POST" ? http::verb::post : http::verb::get,
                                       target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, protocol::user_agent());
  req.set(http::field::accept, "application/json");
  for (const auto& [k, v] : call.headers) req.set(k, v);
  if (call.method == "POST") {
    req.body() = call.body;
    req.prepare_payload();
  }
  beast::error_code ec;
  http::write(stream, req, ec);
  if (ec) return auth::fail("cannot send the request: " + ec.message());
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(call.max_body);
  http::read(stream, buf, parser, ec);
  if (ec) return auth::fail("cannot read the answer: " + ec.message());
  auto res = parser.release();
  HttpReply r;
  r.status = static_cast<int>(res.result_int());
  r.content_type = std::string(res[http::field::content_type]);
  r.body = std::move(res.body());
  return r;
}

}  // namespace

auth::Result<HttpReply> http_call(const HttpCall& call) {
  auto u = boost::urls::parse_absolute_uri(call.url);
  if (!u) return auth::fail("not an absolute URL: " + call.url);
  bool https = u->scheme() == "https";
  if (!https && !loopback_http_url(call.url))
    return auth::fail("only https (or http to this machine) is allowed: " + call.url);
  std::string host(u->encoded_host());
  std::string connect_host = host;
  if (connect_host.size() > 2 && connect_host.front() == '[')
    connect_host = connect_host.substr(1, connect_host.size() - 2);
  std::string port = u->has_port() ? std::string(u->port()) : (https ? "443" : "80");
  std::string target(u->encoded_path());
  if (target.empty()) target = "/";
  if (u->has_query()) target += "?" + std::string(u->encoded_query());
  std::string host_header = u->has_port() ? host + ":" + port : host;

  asio::io_context io;
  tcp::resolver resolver(io);
  beast::error_code ec;
  auto endpoints = resolver.resolve(connect_host, port, ec);
  if (ec) return auth::fail("cannot resolve " + host + ": " + ec.message());
  auto deadline = std::chrono::steady_clock::now() + call.timeout;
  auth::Result<HttpReply> out = auth::fail("timed out: " + call.url);
  if (!https) {
    beast::tcp_stream stream(io);
    stream.expires_at(deadline);
    stream.connect(endpoints, ec);
    if (ec) return auth::fail("cannot connect to " + host_header + ": " + ec.message());
    out = exchange(stream, call, host_header, target);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return out;
  }
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_default_verify_paths();
  if (!call.ca_file.empty()) {
    ctx.load_verify_file(call.ca_file, ec);
    if (ec) return auth::fail("cannot read the CA file " + call.ca_file + ": " + ec.message());
  }
  ctx.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), connect_host.c_str()))
    return auth::fail("cannot set the TLS server name");
  stream.set_verify_callback(asio::ssl::host_name_verification(connect_host));
  beast::get_lowest_layer(stream).expires_at(deadline);
  beast::get_lowest_layer(stream).connect(endpoints, ec);
  if (ec) return auth::fail("cannot connect to " + host_header + ": " + ec.message());
  stream.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return auth::fail("TLS with " + host_header + " failed: " + ec.message());
  out = exchange(stream, call, host_header, target);
  stream.shutdown(ec);
  return out;
}

}  // namespace bastion::login
