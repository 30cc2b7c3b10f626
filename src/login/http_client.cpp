#include "login/http_client.hpp"

#include <fcntl.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <type_traits>

#include "auth/run_with_deadline.hpp"
#include "protocol/version.hpp"

namespace bastion::login {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Parts {
  std::string connect_host;  // without IPv6 brackets
  std::string port;
  std::string host_header;
  std::string target;
  bool https = false;
};

auth::Result<Parts> parse_url(const std::string& url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return auth::fail("not an absolute URL: " + url);
  Parts p;
  p.https = u->scheme() == "https";
  if (!p.https && !loopback_http_url(url))
    return auth::fail("only https (or http to this machine) is allowed: " + url);
  std::string host(u->encoded_host());
  p.connect_host = host;
  if (host.size() > 2 && host.front() == '[') p.connect_host = host.substr(1, host.size() - 2);
  p.port = u->has_port() ? std::string(u->port()) : (p.https ? "443" : "80");
  p.target = std::string(u->encoded_path());
  if (p.target.empty()) p.target = "/";
  if (u->has_query()) p.target += "?" + std::string(u->encoded_query());
  p.host_header = u->has_port() ? host + ":" + p.port : host;
  return p;
}

// The whole call, asynchronous so that run_with_deadline bounds all of it.
template <class Stream>
asio::awaitable<auth::Result<HttpReply>> exchange(Stream& stream, const HttpCall& call,
                                                  const Parts& p) {
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  auto& socket = beast::get_lowest_layer(stream);
  tcp::resolver resolver(socket.get_executor());
  auto [rec, endpoints] = co_await resolver.async_resolve(p.connect_host, p.port, tuple);
  if (rec) co_return auth::fail("cannot resolve " + p.connect_host + ": " + rec.message());
  auto [cec, ep] = co_await socket.async_connect(endpoints, tuple);
  if (cec) co_return auth::fail("cannot connect to " + p.host_header + ": " + cec.message());
  ::fcntl(socket.socket().native_handle(), F_SETFD, FD_CLOEXEC);  // Asio: no SOCK_CLOEXEC
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, tuple);
    if (hec) co_return auth::fail("TLS with " + p.host_header + " failed: " + hec.message());
  }
  http::request<http::string_body> req{call.method == "POST" ? http::verb::post : http::verb::get,
                                       p.target, 11};
  req.set(http::field::host, p.host_header);
  req.set(http::field::user_agent, protocol::user_agent());
  req.set(http::field::accept, "application/json");
  for (const auto& [k, v] : call.headers) req.set(k, v);
  if (call.method == "POST") {
    req.body() = call.body;
    req.prepare_payload();
  }
  auto [wec, wn] = co_await http::async_write(stream, req, tuple);
  if (wec) co_return auth::fail("cannot send the request: " + wec.message());
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(call.max_body);
  auto [eec, rn] = co_await http::async_read(stream, buf, parser, tuple);
  if (eec) co_return auth::fail("cannot read the answer: " + eec.message());
  beast::error_code ignored;
  socket.socket().shutdown(tcp::socket::shutdown_both, ignored);
  auto res = parser.release();
  HttpReply r;
  r.status = static_cast<int>(res.result_int());
  r.content_type = std::string(res[http::field::content_type]);
  r.body = std::move(res.body());
  co_return r;
}

template <class Stream>
auth::Result<HttpReply> run(asio::io_context& io, Stream& stream, const HttpCall& call,
                            const Parts& p) {
  auto out = auth::run_with_deadline(io, exchange(stream, call, p), call.timeout, [&] {
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
  });
  if (!out)
    return auth::fail("no answer within " + std::to_string(call.timeout.count()) +
                      " ms: " + call.url);
  return std::move(*out);
}

}  // namespace

auth::Result<HttpReply> http_call(const HttpCall& call) {
  auto p = parse_url(call.url);
  if (!p) return p.error();
  asio::io_context io;
  if (!p->https) {
    beast::tcp_stream stream(io);
    return run(io, stream, call, p.value());
  }
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_default_verify_paths();
  beast::error_code ec;
  if (!call.ca_file.empty()) {
    ctx.load_verify_file(call.ca_file, ec);
    if (ec) return auth::fail("cannot read the CA file " + call.ca_file + ": " + ec.message());
  }
  ctx.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), p->connect_host.c_str()))
    return auth::fail("cannot set the TLS server name");
  stream.set_verify_callback(asio::ssl::host_name_verification(p->connect_host));
  return run(io, stream, call, p.value());
}

}  // namespace bastion::login
