// Streamable HTTP transport (MCP 2025-11-25 §transports) on Boost.Beast with
// C++20 coroutines: the public face of the listener (http_server.cpp), which
// hands /mcp to the MCP endpoint (mcp_endpoint.hpp: POST/GET/DELETE, JSON or
// SSE answers, sessions), streams through sse.hpp, checks every request with
// the pure guards of request_guards.hpp (framing, Host/Origin against DNS
// rebinding, CORS), and offers a hook for other routes (OAuth2, health,
// metrics).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/expected.hpp"
#include "protocol/principal.hpp"
#include "server/engine.hpp"
#include "transport/io_workers.hpp"

namespace bastion::transport {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct HttpOptions {
  std::string host = "127.0.0.1";  // listen address
  std::uint16_t port = 8080;       // 0: pick a free port (see HttpServer::port())
  std::string mcp_path = "/mcp";
  std::size_t max_body_bytes = 4 * 1024 * 1024;    // larger bodies get 413
  std::size_t max_header_bytes = 16 * 1024;        // larger headers get 431
  std::chrono::milliseconds read_timeout{30000};   // whole request incl. headers
  std::chrono::milliseconds idle_timeout{120000};  // keep-alive between requests
  std::chrono::milliseconds sse_keepalive{15000};  // comment lines on idle SSE streams
  std::chrono::milliseconds sse_retry{1000};       // `retry:` hint sent to clients
  std::chrono::milliseconds shutdown_grace{5000};  // wait for in-flight work on stop
  // Origins allowed to call /mcp from a browser. Empty: only loopback origins
  // (http(s)://localhost|127.0.0.1|[::1] on any port).
  std::vector<std::string> allowed_origins;
  // Host header values allowed (host part, port ignored). Empty: loopback names
  // when listening on a loopback address, anything otherwise.
  std::vector<std::string> allowed_hosts;
  std::size_t max_connections = 10000;
};

// What the connection knows about a request that its headers cannot forge.
struct RequestContext {
  boost::asio::ip::address peer;  // the TCP peer's address
};

// Answers a non-MCP request, or nullopt when the path is not its own.
using RouteHandler = std::function<std::optional<Response>(const Request&)>;
// The same for work that must not hold an I/O thread (password hashing):
// the connection's coroutine waits for the answer.
using AsyncRouteHandler = std::function<boost::asio::awaitable<std::optional<Response>>(
    const Request&, const RequestContext&)>;
// Answers a route gives at once, on the I/O thread, before a request goes to
// the route pool: nullopt passes it on. Only for what costs no more than the
// hand-over it saves (refusing a malformed or throttled request): it must
// never block nor do heavy work.
using QuickRouteHandler =
    std::function<std::optional<Response>(const Request&, const RequestContext&)>;
// Establishes the caller for /mcp: a principal, or the response to send
// (401 challenge). Unset: everyone is anonymous.
using Authenticator = std::function<protocol::Expected<protocol::Principal, Response>(
    const Request&, const RequestContext&)>;
// Last check before a message reaches the session (scope per tool): nullopt
// to proceed, or the response to send instead (403 insufficient_scope).
using MessageCheck = std::function<std::optional<Response>(
    const Request&, const protocol::Principal&, const boost::json::object&)>;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& ioc, server::Engine& engine, HttpOptions opts);
  ~HttpServer();

  // Routes are tried in the order they were added.
  void add_route(RouteHandler h);
  void add_async_route(AsyncRouteHandler h);
  // Tried in the order they were added, before every route above.
  void add_quick_route(QuickRouteHandler h);
  void set_authenticator(Authenticator a);
  void set_message_check(MessageCheck c);

  // Serves each connection on one of `workers` (which must outlive every
  // connection and everything a connection hands its executor to) instead of
  // on a strand of the io_context given above. Before start().
  void spread_connections(IoWorkers& workers);

  // Binds (so port() is known) without accepting yet. Throws
  // std::runtime_error when it cannot bind.
  void bind();
  // Binds if needed and starts accepting.
  void start();
  std::uint16_t port() const;
  std::size_t connection_count() const;
  // Stops accepting, ends every session and stream, closes connections after
  // the grace period. Safe to call from any thread, more than once.
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace bastion::transport
