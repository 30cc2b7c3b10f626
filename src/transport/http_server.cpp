// The listener: accepts connections (bounded), reads each request under the
// header/body limits and timeouts, refuses ambiguous framing before the body
// is read, and routes /mcp to the MCP endpoint and anything else to the
// registered routes. One coroutine per connection, Beast-style.
#include "transport/http_server.hpp"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <set>
#include <stdexcept>

#include "protocol/peer_address.hpp"
#include "transport/field_value.hpp"
#include "transport/http_connection.hpp"
#include "transport/mcp_endpoint.hpp"
#include "transport/request_guards.hpp"

namespace bastion::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

bool is_loopback_address(const std::string& addr) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(addr, ec);
  return !ec && a.is_loopback();
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// Accepts one connection with accept4(SOCK_CLOEXEC): Asio's async_accept uses
// accept(2), so a connection would exist without close-on-exec until its
// handler ran, long enough for a fork on another thread to copy it. Drains
// the backlog without a trip through the reactor per connection (waits only
// when nothing is pending), so a busy server still takes new connections
// promptly.
asio::awaitable<std::tuple<boost::system::error_code, tcp::socket>> accept_cloexec(
    tcp::acceptor& acceptor, const asio::any_io_executor& ex) {
  for (;;) {
    int fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      tcp::socket sock(ex);
      boost::system::error_code ec;
      sock.assign(acceptor.local_endpoint(ec).protocol(), fd, ec);
      if (ec) ::close(fd);
      co_return std::tuple{ec, std::move(sock)};
    }
    int e = errno;
    if (e == EINTR || e == ECONNABORTED) continue;
    if (e != EAGAIN && e != EWOULDBLOCK)
      co_return std::tuple{boost::system::error_code(e, boost::system::system_category()),
                           tcp::socket(ex)};
    auto [ec] = co_await acceptor.async_wait(tcp::acceptor::wait_read, tuple_awaitable);
    if (ec) co_return std::tuple{ec, tcp::socket(ex)};
  }
}

// One request read from a connection: the request, or the refusal to send
// before closing, or neither (the peer went away or timed out: close quietly).
struct Incoming {
  std::optional<Request> request;
  std::optional<Refusal> refusal;
  unsigned version = 11;
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  asio::io_context& ioc;
  server::Engine& engine;
  const HttpOptions opts;
  tcp::acceptor acceptor;
  asio::steady_timer reaper;
  std::vector<AsyncRouteHandler> routes;
  std::vector<QuickRouteHandler> quick_routes;
  const GuardOptions guards;
  McpEndpoint endpoint;
  std::uint64_t listener_id = 0;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> connections{0};
  std::mutex mu;
  std::set<std::shared_ptr<HttpConnection>> live;
  IoWorkers* workers = nullptr;  // where connections run; null: on ioc, a strand each
  // The routes (the authorization server: argon2id checks, client metadata
  // document fetches that may wait seconds on a server a client chose) run
  // here, never on the I/O threads, so a slow route cannot stall /mcp.
  asio::thread_pool route_pool{kRouteThreads};
  static constexpr std::size_t kRouteThreads = 8;

  Impl(asio::io_context& i, server::Engine& e, HttpOptions o)
      : ioc(i),
        engine(e),
        opts(std::move(o)),
        acceptor(asio::make_strand(i)),
        reaper(i),
        guards{opts.allowed_origins, opts.allowed_hosts, is_loopback_address(opts.host)},
        endpoint(e, opts, guards) {}

  // `self` keeps the listener alive while it waits.
  static asio::awaitable<void> accept_loop(std::shared_ptr<Impl> self) {
    auto& acceptor = self->acceptor;
    auto& opts = self->opts;
    auto& connections = self->connections;
    asio::steady_timer backoff(acceptor.get_executor());
    for (;;) {
      // On a worker the connection is its thread's alone; on the shared
      // io_context it needs a strand of its own.
      asio::any_io_executor owner =
          self->workers ? self->workers->next() : asio::make_strand(self->ioc);
      auto [ec, sock] = co_await accept_cloexec(acceptor, owner);
      if (ec) {
        if (self->stopping || ec == asio::error::operation_aborted) break;
        spdlog::warn("http: accept failed: {}", ec.message());
        // Out of descriptors (EMFILE/ENFILE/ENOBUFS): the connection stays
        // queued, so retrying at once would spin. Wait for one to close.
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(tuple_awaitable);
        continue;
      }
      if (connections.load() >= opts.max_connections) {
        boost::system::error_code ignored;
        sock.close(ignored);
        continue;
      }
      auto conn =
          std::make_shared<HttpConnection>(std::move(sock), opts.read_timeout, self->stopping);
      {
        std::lock_guard lk(self->mu);
        self->live.insert(conn);
      }
      ++connections;
      asio::co_spawn(conn->stream().get_executor(), self->run_connection(conn),
                     [self, conn](std::exception_ptr e) {
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           spdlog::error("http: connection ended by exception: {}", ex.what());
                         }
                       }
                       std::lock_guard lk(self->mu);
                       self->live.erase(conn);
                       --self->connections;
                     });
    }
  }

  // Idle sessions expire (their stream state goes with them through the
  // engine's close notice).
  static asio::awaitable<void> reap_idle_sessions(std::shared_ptr<Impl> self) {
    while (!self->stopping) {
      self->reaper.expires_after(std::chrono::seconds(5));
      co_await self->reaper.async_wait(tuple_awaitable);
      if (self->stopping) break;
      self->engine.expire_idle(std::chrono::steady_clock::now());
    }
  }

  // Feeds the parser what `buf` holds, once (a parser that is not eager
  // stops after the header), and drops what it took. need_more is no error
  // here: the caller reads the rest.
  static boost::system::error_code put_buffered(http::request_parser<http::string_body>& parser,
                                                beast::flat_buffer& buf) {
    boost::system::error_code ec;
    buf.consume(parser.put(buf.data(), ec));
    if (ec == http::error::need_more) ec = {};
    return ec;
  }

  // put_buffered() again for the body, until it is whole or the parser
  // takes nothing more of what `buf` holds.
  static boost::system::error_code put_body_buffered(
      http::request_parser<http::string_body>& parser, beast::flat_buffer& buf) {
    boost::system::error_code ec;
    while (!ec && !parser.is_done() && buf.size() > 0) {
      const std::size_t before = buf.size();
      ec = put_buffered(parser, buf);
      if (buf.size() == before) break;
    }
    return ec;
  }

  // Reads until `buf` holds a whole header block, and returns its length, or
  // 0 when the peer went away, timed out, or sent more than the header limit
  // (`too_large`).
  asio::awaitable<std::size_t> read_header_block(beast::tcp_stream& stream, beast::flat_buffer& buf,
                                                 bool& too_large) {
    std::size_t searched = 0;
    for (;;) {
      std::string_view have(static_cast<const char*>(buf.data().data()), buf.size());
      auto end = have.find("\r\n\r\n", searched);
      if (end != std::string_view::npos) co_return end + 4;
      if (have.size() > opts.max_header_bytes) {
        too_large = true;
        co_return 0;
      }
      searched = have.size() < 3 ? 0 : have.size() - 3;
      auto [ec, n] = co_await stream.async_read_some(buf.prepare(16 * 1024), tuple_awaitable);
      if (ec) co_return 0;
      buf.commit(n);
    }
  }

  // Fills `in`, which the caller keeps: returned, it would sit in this
  // coroutine's frame twice (the local and the promise's result), over the
  // 1,020 bytes Asio recycles, and this frame is made for every request.
  asio::awaitable<void> read_request(beast::tcp_stream& stream, beast::flat_buffer& buf, bool first,
                                     Incoming& in) {
    stream.expires_after(first ? opts.read_timeout : opts.idle_timeout);
    bool too_large = false;
    std::size_t block = co_await read_header_block(stream, buf, too_large);
    auto header_too_large = [&] {
      return Refusal{http::status::request_header_fields_too_large, -32600,
                     "Request headers too large", nullptr, true};
    };
    if (too_large) in.refusal = header_too_large();
    if (block == 0) co_return;
    // Before Beast reads it: line folding Beast would accept.
    in.refusal =
        check_raw_header(std::string_view(static_cast<const char*>(buf.data().data()), block));
    if (in.refusal) co_return;

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
    parser.body_limit(opts.max_body_bytes);
    // The header block is in `buf` whole: parsed where it is (the parser is
    // not eager, so it stops after the header), with no read and no
    // completion round.
    boost::system::error_code hec = put_buffered(parser, buf);
    if (!hec && !parser.is_header_done()) {
      auto [rec, rn] = co_await http::async_read_header(stream, buf, parser, tuple_awaitable);
      hec = rec;
    }
    if (parser.get().version()) in.version = parser.get().version();
    if (!hec) {
      // Before the body: framing a proxy could read differently.
      in.refusal = check_framing(parser.get());
      if (in.refusal) co_return;
      // What of the body has arrived with the header, then the rest.
      if (!parser.is_done()) hec = put_body_buffered(parser, buf);
      if (!hec && !parser.is_done()) {
        stream.expires_after(opts.read_timeout);
        auto [bec, bn] = co_await http::async_read(stream, buf, parser, tuple_awaitable);
        hec = bec;
      }
    }
    stream.expires_never();
    if (!hec) {
      in.request = parser.release();
    } else if (hec == http::error::body_limit) {
      in.refusal =
          Refusal{http::status::payload_too_large, -32600,
                  fmt::format("Request body exceeds {} bytes", opts.max_body_bytes), nullptr, true};
    } else if (hec == http::error::header_limit) {
      in.refusal = header_too_large();
    } else if (hec.category() == http::make_error_code(http::error::bad_version).category() &&
               hec != http::error::end_of_stream && hec != http::error::partial_message) {
      in.refusal =
          Refusal{http::status::bad_request, -32600, "Malformed HTTP request", nullptr, true};
    }
  }

  asio::awaitable<void> run_connection(std::shared_ptr<HttpConnection> conn) {
    beast::flat_buffer buf;
    bool first = true;
    while (!stopping) {
      Incoming in;
      co_await read_request(conn->stream(), buf, first, in);
      first = false;
      if (in.refusal) {
        Response res = error_response(in.version, *in.refusal);
        co_await conn->write(std::move(res), false);
        break;
      }
      if (!in.request) break;
      if (!co_await route(*conn, *in.request)) break;
    }
    conn->close();
  }

  asio::awaitable<bool> route(HttpConnection& conn, Request& req) {
    if (path_of(req.target()) == opts.mcp_path) co_return co_await endpoint.handle(conn, req);
    // Who is at the other end, for the routes (sign-in throttling, registration
    // limits); set() replaces any field of that name the client sent.
    boost::system::error_code pec;
    auto peer = conn.stream().socket().remote_endpoint(pec);
    req.set(protocol::kPeerAddressField, pec ? std::string("unknown") : peer.address().to_string());
    const RequestContext ctx{conn.peer()};
    // Routes run on their own pool, off the I/O threads. The coroutine is a
    // named lambda: GCC 12 mishandles a lambda temporary in a full-expression
    // that also holds a co_await.
    auto route_all = [this, &req, &ctx]() -> asio::awaitable<std::optional<Response>> {
      for (auto& r : routes)
        if (auto out = co_await r(req, ctx)) co_return out;
      co_return std::nullopt;
    };
    std::optional<Response> routed;
    // DNS rebinding: every route gets the Host check the MCP endpoint makes
    // (admit), before any of them sees the request.
    if (!route_host_allowed(field_value(req, http::field::host), guards))
      routed = json_response(
          req.version(), http::status::forbidden,
          json::object{{"error", "forbidden"}, {"error_description", "Host header not allowed"}});
    for (auto& q : quick_routes) {
      if (routed) break;
      routed = q(req, ctx);
    }
    if (!routed) routed = co_await asio::co_spawn(route_pool, route_all, asio::use_awaitable);
    if (routed) co_return co_await conn.write(std::move(*routed), req.keep_alive());
    Response res =
        json_response(req.version(), http::status::not_found, json::object{{"error", "not_found"}});
    co_return co_await conn.write(std::move(res), req.keep_alive());
  }
};

HttpServer::HttpServer(asio::io_context& ioc, server::Engine& engine, HttpOptions opts)
    : impl_(std::make_shared<Impl>(ioc, engine, std::move(opts))) {
  // Stream state lives as long as its session: the engine says when it ends.
  std::weak_ptr<Impl> weak = impl_;
  impl_->listener_id = engine.on_session_closed([weak](const std::string& id) {
    if (auto self = weak.lock()) self->endpoint.session_closed(id);
  });
}

HttpServer::~HttpServer() {
  stop();
  impl_->engine.remove_session_listener(impl_->listener_id);
}

void HttpServer::add_route(RouteHandler h) {
  impl_->routes.push_back([h = std::move(h)](const Request& req, const RequestContext&)
                              -> asio::awaitable<std::optional<Response>> { co_return h(req); });
}
void HttpServer::add_async_route(AsyncRouteHandler h) { impl_->routes.push_back(std::move(h)); }

void HttpServer::add_quick_route(QuickRouteHandler h) {
  impl_->quick_routes.push_back(std::move(h));
}
void HttpServer::set_authenticator(Authenticator a) { impl_->endpoint.set_authenticator(a); }
void HttpServer::set_message_check(MessageCheck c) { impl_->endpoint.set_message_check(c); }

void HttpServer::spread_connections(IoWorkers& workers) { impl_->workers = &workers; }

void HttpServer::start() {
  auto& i = *impl_;
  if (!i.acceptor.is_open()) bind();
  asio::co_spawn(i.acceptor.get_executor(), Impl::accept_loop(impl_), asio::detached);
  asio::co_spawn(i.reaper.get_executor(), Impl::reap_idle_sessions(impl_), asio::detached);
}

void HttpServer::bind() {
  auto& i = *impl_;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(i.opts.host, ec);
  if (ec) throw std::runtime_error(fmt::format("invalid listen address '{}'", i.opts.host));
  tcp::endpoint ep(addr, i.opts.port);
  // The listener is close-on-exec from its first instant (Asio's open uses
  // socket(2) without SOCK_CLOEXEC): no process Bastion starts inherits it.
  int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    ec.assign(errno, boost::system::system_category());
  else if (i.acceptor.assign(ep.protocol(), fd, ec); ec)
    ::close(fd);
  if (!ec) i.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor.bind(ep, ec);
  if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("cannot listen on {}:{}: {}", i.opts.host, i.opts.port, ec.message()));
}

std::uint16_t HttpServer::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::size_t HttpServer::connection_count() const { return impl_->connections.load(); }

void HttpServer::stop() {
  auto self = impl_;
  if (self->stopping.exchange(true)) return;
  asio::post(self->acceptor.get_executor(), [self] {
    boost::system::error_code ignored;
    self->acceptor.close(ignored);
  });
  asio::post(self->reaper.get_executor(), [self] { self->reaper.cancel(); });
  // Ending sessions closes their streams, so SSE writers finish cleanly.
  self->engine.close_all();
  std::set<std::shared_ptr<HttpConnection>> conns;
  {
    std::lock_guard lk(self->mu);
    conns = self->live;
  }
  for (auto& c : conns) asio::post(c->stream().get_executor(), [c] { c->shutdown_receive(); });
}

}  // namespace bastion::transport
