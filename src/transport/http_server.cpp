#include "transport/http_server.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "metrics/metrics.hpp"
#include "protocol/version.hpp"
#include "server/outbox.hpp"
#include "server/session.hpp"
#include "transport/event_stream.hpp"

namespace bastion::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

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

bool is_loopback_address(const std::string& addr) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(addr, ec);
  return !ec && a.is_loopback();
}

std::string path_of(std::string_view target) {
  auto q = target.find('?');
  return std::string(target.substr(0, q));
}

Response json_response(unsigned version, http::status status, const json::value& body) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json");
  res.body() = json::serialize(body);
  return res;
}

// An HTTP error with a JSON-RPC error body (id null), as the spec suggests.
Response rpc_error_response(unsigned version, http::status status, int code, std::string message) {
  return json_response(version, status,
                       protocol::make_error(nullptr, protocol::RpcError{code, std::move(message)}));
}

bool is_json_content_type(std::string_view ct) {
  auto semi = ct.find(';');
  return lower(trim(ct.substr(0, semi))) == "application/json";
}

std::optional<std::pair<std::string, std::uint64_t>> parse_event_id(std::string_view id) {
  auto dash = id.rfind('-');
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  std::uint64_t seq = 0;
  auto digits = id.substr(dash + 1);
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    seq = seq * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return std::make_pair(std::string(id.substr(0, dash)), seq);
}

}  // namespace

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

bool accepts(std::string_view accept_header, std::string_view media_type) {
  auto slash = media_type.find('/');
  std::string type_wild = std::string(media_type.substr(0, slash)) + "/*";
  std::size_t pos = 0;
  while (pos <= accept_header.size()) {
    auto comma = accept_header.find(',', pos);
    auto item = accept_header.substr(
        pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    auto semi = item.find(';');
    auto mt = lower(trim(item.substr(0, semi)));
    if (mt == media_type || mt == type_wild || mt == "*/*") return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

// Streams of one MCP session, kept for SSE resumption.
struct HttpSession {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<EventStream>> streams;
  std::deque<std::string> order;  // creation order, for pruning
  std::uint64_t next_stream = 1;
  std::shared_ptr<EventStream> standalone;
  bool standalone_connected = false;
  std::uint64_t standalone_delivered = 0;  // last seq written to a GET connection

  static constexpr std::size_t kMaxStreams = 64;

  std::shared_ptr<EventStream> new_stream(asio::any_io_executor ex) {
    std::lock_guard lk(mu);
    auto id = std::to_string(next_stream++);
    auto s = std::make_shared<EventStream>(ex, id);
    streams[id] = s;
    order.push_back(id);
    while (order.size() > kMaxStreams) {
      auto it = streams.find(order.front());
      if (it != streams.end() && it->second != standalone) streams.erase(it);
      order.pop_front();
    }
    return s;
  }
  std::shared_ptr<EventStream> find(const std::string& id) {
    std::lock_guard lk(mu);
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : it->second;
  }
};

struct Connection {
  beast::tcp_stream stream;
  explicit Connection(tcp::socket s) : stream(std::move(s)) {}
};

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  asio::io_context& ioc;
  server::Engine& engine;
  HttpOptions opts;
  tcp::acceptor acceptor;
  std::vector<RouteHandler> routes;
  Authenticator authenticator;
  MessageCheck message_check;
  bool loopback_only = false;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> connections{0};

  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<HttpSession>> sessions;
  std::set<std::shared_ptr<Connection>> live;

  Impl(asio::io_context& i, server::Engine& e, HttpOptions o)
      : ioc(i), engine(e), opts(std::move(o)), acceptor(asio::make_strand(i)) {}

  std::shared_ptr<HttpSession> http_session(const std::string& id, bool create) {
    std::lock_guard lk(mu);
    auto it = sessions.find(id);
    if (it != sessions.end()) return it->second;
    if (!create) return nullptr;
    auto s = std::make_shared<HttpSession>();
    sessions.emplace(id, s);
    return s;
  }
  void forget_session(const std::string& id) {
    std::lock_guard lk(mu);
    sessions.erase(id);
  }

  // ---- accept loop and connections -------------------------------------

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(ioc), tuple_awaitable);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) break;
        spdlog::warn("http: accept failed: {}", ec.message());
        continue;
      }
      // Asio accepts without SOCK_CLOEXEC: no client connection may reach a
      // process Bastion starts.
      ::fcntl(sock.native_handle(), F_SETFD, FD_CLOEXEC);
      if (connections.load() >= opts.max_connections) {
        boost::system::error_code ignored;
        sock.close(ignored);
        continue;
      }
      auto conn = std::make_shared<Connection>(std::move(sock));
      {
        std::lock_guard lk(mu);
        live.insert(conn);
      }
      ++connections;
      asio::co_spawn(conn->stream.get_executor(), run_connection(conn),
                     [self = shared_from_this(), conn](std::exception_ptr e) {
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

  // Session sweeper: idle sessions and their stream state go away.
  asio::awaitable<void> sweep_loop() {
    asio::steady_timer t(ioc);
    while (!stopping) {
      t.expires_after(std::chrono::seconds(5));
      co_await t.async_wait(tuple_awaitable);
      if (stopping) break;
      engine.expire_idle(std::chrono::steady_clock::now());
      std::lock_guard lk(mu);
      for (auto it = sessions.begin(); it != sessions.end();)
        it = engine.find_session(it->first) ? std::next(it) : sessions.erase(it);
    }
  }

  asio::awaitable<bool> write(beast::tcp_stream& stream, Response res, bool keep_alive) {
    metrics::Metrics::global().add("bastion_http_responses_total",
                                   fmt::format("code=\"{}\"", res.result_int()));
    res.keep_alive(keep_alive && !stopping);
    res.prepare_payload();
    stream.expires_after(opts.read_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, tuple_awaitable);
    stream.expires_never();
    co_return !ec && res.keep_alive();
  }

  asio::awaitable<void> run_connection(std::shared_ptr<Connection> conn) {
    auto& stream = conn->stream;
    beast::flat_buffer buf;
    bool first = true;
    while (!stopping) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
      parser.body_limit(opts.max_body_bytes);
      stream.expires_after(first ? opts.read_timeout : opts.idle_timeout);
      auto [hec, hn] = co_await http::async_read_header(stream, buf, parser, tuple_awaitable);
      if (!hec && !parser.is_done()) {
        stream.expires_after(opts.read_timeout);
        auto [bec, bn] = co_await http::async_read(stream, buf, parser, tuple_awaitable);
        hec = bec;
      }
      first = false;
      if (hec) {
        unsigned version = parser.get().version() ? parser.get().version() : 11;
        if (hec == http::error::body_limit) {
          co_await write(stream,
                         rpc_error_response(
                             version, http::status::payload_too_large, protocol::kInvalidRequest,
                             fmt::format("Request body exceeds {} bytes", opts.max_body_bytes)),
                         false);
        } else if (hec == http::error::header_limit) {
          co_await write(stream,
                         rpc_error_response(version, http::status::request_header_fields_too_large,
                                            protocol::kInvalidRequest, "Request headers too large"),
                         false);
        } else if (hec.category() ==
                       beast::http::make_error_code(http::error::bad_version).category() &&
                   hec != http::error::end_of_stream && hec != http::error::partial_message) {
          co_await write(stream,
                         rpc_error_response(11, http::status::bad_request,
                                            protocol::kInvalidRequest, "Malformed HTTP request"),
                         false);
        }
        break;
      }
      stream.expires_never();
      Request req = parser.release();
      bool keep = co_await handle(stream, req);
      if (!keep) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
  }

  asio::awaitable<bool> handle(beast::tcp_stream& stream, Request& req) {
    std::string path = path_of(req.target());
    if (path == opts.mcp_path) co_return co_await handle_mcp(stream, req);
    for (auto& r : routes) {
      if (auto res = r(req)) co_return co_await write(stream, std::move(*res), req.keep_alive());
    }
    json::object body;
    body["error"] = "not_found";
    co_return co_await write(stream, json_response(req.version(), http::status::not_found, body),
                             req.keep_alive());
  }

  // ---- /mcp ---------------------------------------------------------------

  void add_cors(Response& res, const Request& req) {
    auto origin = req[http::field::origin];
    if (origin.empty()) return;
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::vary, "Origin");
    res.set(http::field::access_control_expose_headers, "Mcp-Session-Id, WWW-Authenticate");
  }

  asio::awaitable<bool> reply(beast::tcp_stream& stream, const Request& req, Response res) {
    add_cors(res, req);
    co_return co_await write(stream, std::move(res), req.keep_alive());
  }

  asio::awaitable<bool> handle_mcp(beast::tcp_stream& stream, Request& req) {
    const unsigned v = req.version();
    // DNS rebinding: a browser page on another origin must not reach a local
    // server, and a rebound name must not pass as a local Host.
    if (!host_allowed(req[http::field::host], opts.allowed_hosts, loopback_only))
      co_return co_await reply(
          stream, req,
          rpc_error_response(v, http::status::forbidden, protocol::kInvalidRequest,
                             "Forbidden: Host header not allowed"));
    auto origin = req[http::field::origin];
    if (!origin.empty() && !origin_allowed(origin, opts.allowed_origins))
      co_return co_await reply(
          stream, req,
          rpc_error_response(v, http::status::forbidden, protocol::kInvalidRequest,
                             "Forbidden: Origin not allowed"));
    if (req.method() == http::verb::options) {
      Response res{http::status::no_content, v};
      res.set(http::field::access_control_allow_methods, "GET, POST, DELETE");
      res.set(http::field::access_control_allow_headers,
              "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, "
              "Last-Event-ID");
      res.set(http::field::access_control_max_age, "86400");
      co_return co_await reply(stream, req, std::move(res));
    }
    if (req.method() != http::verb::post && req.method() != http::verb::get &&
        req.method() != http::verb::delete_) {
      auto res = rpc_error_response(v, http::status::method_not_allowed, protocol::kInvalidRequest,
                                    "Method not allowed");
      res.set(http::field::allow, "GET, POST, DELETE, OPTIONS");
      co_return co_await reply(stream, req, std::move(res));
    }

    protocol::Principal principal;
    if (authenticator) {
      auto r = authenticator(req);
      if (r.index() == 1) co_return co_await reply(stream, req, std::move(std::get<1>(r)));
      principal = std::move(std::get<0>(r));
    }

    // The protocol version header, when present, must name one we speak.
    auto pv = req["MCP-Protocol-Version"];
    if (!pv.empty() && !protocol::is_supported_version(pv))
      co_return co_await reply(
          stream, req,
          rpc_error_response(v, http::status::bad_request, protocol::kInvalidRequest,
                             fmt::format("Bad Request: unsupported MCP-Protocol-Version '{}'",
                                         std::string_view(pv))));

    if (req.method() == http::verb::post) co_return co_await handle_post(stream, req, principal);
    if (req.method() == http::verb::get) co_return co_await handle_get(stream, req, principal);
    co_return co_await handle_delete(stream, req, principal);
  }

  // Resolves Mcp-Session-Id into a session, or the error response to send.
  std::variant<std::shared_ptr<server::Session>, Response> session_for(
      const Request& req, const protocol::Principal& principal) {
    auto sid = req["Mcp-Session-Id"];
    if (sid.empty())
      return rpc_error_response(req.version(), http::status::bad_request, protocol::kInvalidRequest,
                                "Bad Request: Mcp-Session-Id header is required");
    auto s = engine.find_session(sid);
    if (!s)
      return rpc_error_response(req.version(), http::status::not_found, -32001,
                                "Session not found");
    // A session belongs to the client that created it.
    if (s->principal().authenticated && s->principal().client_id != principal.client_id)
      return rpc_error_response(req.version(), http::status::not_found, -32001,
                                "Session not found");
    return s;
  }

  asio::awaitable<bool> handle_post(beast::tcp_stream& stream, Request& req,
                                    const protocol::Principal& principal) {
    const unsigned v = req.version();
    auto accept = req[http::field::accept];
    if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream"))
      co_return co_await reply(
          stream, req,
          rpc_error_response(v, http::status::not_acceptable, protocol::kInvalidRequest,
                             "Not Acceptable: client must accept both application/json and "
                             "text/event-stream"));
    if (!is_json_content_type(req[http::field::content_type]))
      co_return co_await reply(
          stream, req,
          rpc_error_response(v, http::status::unsupported_media_type, protocol::kInvalidRequest,
                             "Unsupported Media Type: Content-Type must be application/json"));

    auto parsed = protocol::parse_json(req.body());
    if (parsed.index() == 1) {
      auto& e = std::get<1>(parsed);
      co_return co_await reply(stream, req,
                               rpc_error_response(v, http::status::bad_request, e.code, e.message));
    }
    json::value body = std::move(std::get<0>(parsed));
    bool batch = body.is_array();
    std::vector<json::object> msgs;
    if (batch) {
      for (auto& e : body.get_array()) {
        if (!e.is_object())
          co_return co_await reply(
              stream, req,
              rpc_error_response(v, http::status::bad_request, protocol::kInvalidRequest,
                                 "Invalid Request: batch items must be objects"));
        msgs.push_back(std::move(e.get_object()));
      }
      if (msgs.empty())
        co_return co_await reply(
            stream, req,
            rpc_error_response(v, http::status::bad_request, protocol::kInvalidRequest,
                               "Invalid Request: empty batch"));
    } else if (body.is_object()) {
      msgs.push_back(std::move(body.get_object()));
    } else {
      co_return co_await reply(
          stream, req,
          rpc_error_response(v, http::status::bad_request, protocol::kInvalidRequest,
                             "Invalid Request: expected a JSON-RPC object"));
    }

    // Classify up front: invalid messages are answered here, and we need to
    // know which ids this POST must answer.
    std::vector<json::value> request_ids;
    std::vector<protocol::Message> classified;
    classified.reserve(msgs.size());
    bool has_initialize = false;
    for (auto& m : msgs) {
      auto c = protocol::classify(json::value(std::move(m)));
      if (c.index() == 1) {
        auto& e = std::get<1>(c);
        co_return co_await reply(
            stream, req,
            json_response(v, http::status::bad_request, protocol::make_error(e.id, e.error)));
      }
      auto& msg = std::get<protocol::Message>(c);
      if (msg.kind == protocol::MessageKind::kRequest) {
        request_ids.push_back(msg.id);
        if (msg.method == "initialize") has_initialize = true;
      }
      if (message_check)
        if (auto res = message_check(req, principal, msg.raw))
          co_return co_await reply(stream, req, std::move(*res));
      classified.push_back(std::move(msg));
    }

    std::shared_ptr<server::Session> session;
    bool created = false;
    if (has_initialize) {
      if (msgs.size() != 1)
        co_return co_await reply(
            stream, req,
            rpc_error_response(v, http::status::bad_request, protocol::kInvalidRequest,
                               "Invalid Request: initialize must be sent alone"));
      session = engine.create_session(principal);
      if (!session)
        co_return co_await reply(stream, req,
                                 rpc_error_response(v, http::status::service_unavailable,
                                                    protocol::kInternalError, "Too many sessions"));
      created = true;
    } else {
      auto r = session_for(req, principal);
      if (r.index() == 1) co_return co_await reply(stream, req, std::move(std::get<1>(r)));
      session = std::move(std::get<0>(r));
      if (batch && !protocol::allows_batches(session->protocol_version()))
        co_return co_await reply(
            stream, req,
            rpc_error_response(v, http::status::bad_request, protocol::kInvalidRequest,
                               "Invalid Request: JSON-RPC batches are not "
                               "supported in this protocol version"));
    }

    auto ex = co_await asio::this_coro::executor;
    if (request_ids.empty()) {
      // Only notifications and responses: accepted, nothing to stream back.
      auto sink = std::make_shared<server::Outbox>(ex, 16);
      for (auto& m : classified) session->deliver(std::move(m), sink, ex);
      Response res{http::status::accepted, v};
      co_return co_await reply(stream, req, std::move(res));
    }

    auto out = std::make_shared<server::Outbox>(ex);
    for (auto& m : classified) session->deliver(std::move(m), out, ex);

    // JSON mode while only final responses arrive; the first notification or
    // server-to-client request switches this POST to an SSE stream.
    std::size_t remaining = request_ids.size();
    json::array responses;
    std::vector<json::object> early;  // messages to put first on the SSE stream
    while (remaining > 0) {
      auto m = co_await out->pop();
      if (!m) break;
      if (m->ends_request) {
        --remaining;
        if (m->message) responses.push_back(std::move(*m->message));
        continue;
      }
      early.push_back(std::move(*m->message));
      break;
    }

    if (early.empty()) {
      Response res;
      if (responses.empty()) {
        res = Response{http::status::accepted, v};  // every request was cancelled
      } else {
        json::value payload = batch ? json::value(std::move(responses)) : std::move(responses[0]);
        res = json_response(v, http::status::ok, payload);
      }
      if (created) res.set("Mcp-Session-Id", session->id());
      co_return co_await reply(stream, req, std::move(res));
    }

    // SSE: a pump moves everything for this POST into a resumable stream.
    auto hs = http_session(session->id(), true);
    auto es = hs->new_stream(ex);
    for (auto& r : responses) es->append(json::serialize(r));
    for (auto& e : early) es->append(json::serialize(e));
    asio::co_spawn(
        ex,
        [out, es, remaining]() mutable -> asio::awaitable<void> {
          while (remaining > 0) {
            auto m = co_await out->pop();
            if (!m) break;
            if (m->ends_request) --remaining;
            if (m->message) es->append(json::serialize(*m->message));
          }
          es->finish();
          out->close();
        },
        asio::detached);
    // Named locals: GCC 12 mishandles temporaries of conditional expressions
    // inside co_await.
    std::string new_sid;
    if (created) new_sid = session->id();
    std::string version(session->protocol_version());
    co_return co_await write_sse(stream, req, es, 0, std::move(new_sid), std::move(version),
                                 nullptr);
  }

  asio::awaitable<bool> write_chunk(beast::tcp_stream& stream, const std::string& data) {
    stream.expires_after(opts.read_timeout);
    auto [ec, n] =
        co_await asio::async_write(stream, http::make_chunk(asio::buffer(data)), tuple_awaitable);
    stream.expires_never();
    co_return !ec;
  }

  // Writes `es` from event `after` on as an SSE response until it finishes,
  // the client goes away, or another writer takes the stream over.
  asio::awaitable<bool> write_sse(beast::tcp_stream& stream, const Request& req,
                                  std::shared_ptr<EventStream> es, std::uint64_t after,
                                  std::string new_session_id, std::string version,
                                  std::function<void(std::uint64_t)> on_exit) {
    std::uint64_t last = after;
    bool keep = co_await write_sse_stream(stream, req, std::move(es), &last,
                                          std::move(new_session_id), std::move(version));
    if (on_exit) on_exit(last);
    co_return keep;
  }

  // `*after` is the last event id written, updated as events go out.
  asio::awaitable<bool> write_sse_stream(beast::tcp_stream& stream, const Request& req,
                                         std::shared_ptr<EventStream> es, std::uint64_t* last,
                                         std::string new_session_id, std::string version) {
    std::uint64_t after = *last;
    metrics::Metrics::global().add("bastion_http_responses_total", "code=\"200\",stream=\"sse\"");
    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    res.set(http::field::connection, "keep-alive");
    if (!new_session_id.empty()) res.set("Mcp-Session-Id", new_session_id);
    if (auto origin = req[http::field::origin]; !origin.empty()) {
      res.set(http::field::access_control_allow_origin, origin);
      res.set(http::field::access_control_expose_headers, "Mcp-Session-Id");
    }
    res.chunked(true);
    res.keep_alive(req.keep_alive());
    http::response_serializer<http::empty_body> sr{res};
    stream.expires_after(opts.read_timeout);
    auto [hec, hn] = co_await http::async_write_header(stream, sr, tuple_awaitable);
    stream.expires_never();
    if (hec) co_return false;

    auto token = es->claim_writer();
    bool ok = true;
    // Priming event (SEP-1699): gives the client an id to resume from before
    // anything else happens, and the reconnection delay.
    if (version >= "2025-11-25") {
      ok = co_await write_chunk(stream, fmt::format("id: {}\nretry: {}\ndata: \n\n",
                                                    es->event_id(after), opts.sse_retry.count()));
    }
    while (ok && !stopping) {
      auto batch = co_await es->wait_after(after, opts.sse_keepalive);
      if (!es->is_writer(token)) break;  // a resumed connection took over
      std::string text;
      for (auto& e : batch.events) {
        text += "id: ";
        text += es->event_id(e.seq);
        text += "\nevent: message\ndata: ";
        text += e.data;
        text += "\n\n";
        after = e.seq;
      }
      if (text.empty() && !batch.finished) text = ": keep-alive\n\n";
      if (!text.empty()) ok = co_await write_chunk(stream, text);
      if (ok) *last = after;
      if (batch.finished && ok) {
        // Drained everything that will ever be on this stream.
        auto rest = co_await es->wait_after(after, std::chrono::milliseconds(0));
        if (rest.events.empty()) break;
      }
    }
    if (!ok) co_return false;
    stream.expires_after(opts.read_timeout);
    auto [ec, n] = co_await asio::async_write(stream, http::make_chunk_last(), tuple_awaitable);
    stream.expires_never();
    co_return !ec && req.keep_alive() && !stopping;
  }

  asio::awaitable<bool> handle_get(beast::tcp_stream& stream, Request& req,
                                   const protocol::Principal& principal) {
    const unsigned v = req.version();
    if (!accepts(req[http::field::accept], "text/event-stream"))
      co_return co_await reply(
          stream, req,
          rpc_error_response(v, http::status::not_acceptable, protocol::kInvalidRequest,
                             "Not Acceptable: GET requires Accept: "
                             "text/event-stream"));
    auto r = session_for(req, principal);
    if (r.index() == 1) co_return co_await reply(stream, req, std::move(std::get<1>(r)));
    auto session = std::move(std::get<0>(r));
    session->touch();
    auto hs = http_session(session->id(), true);
    auto ex = co_await asio::this_coro::executor;

    // Resumption of any stream of this session.
    if (auto last = req["Last-Event-ID"]; !last.empty()) {
      if (auto parsed = parse_event_id(last))
        if (auto es = hs->find(parsed->first))
          co_return co_await write_sse(stream, req, es, parsed->second, std::string(),
                                       std::string(session->protocol_version()), nullptr);
    }

    // The standalone stream for server-initiated messages: one live
    // connection at a time, so no message is delivered twice.
    std::shared_ptr<EventStream> es;
    {
      std::lock_guard lk(hs->mu);
      if (hs->standalone_connected)
        co_return co_await reply(
            stream, req,
            rpc_error_response(v, http::status::conflict, protocol::kInvalidRequest,
                               "Conflict: only one standalone SSE stream is "
                               "allowed per session"));
      hs->standalone_connected = true;
      es = hs->standalone;
    }
    if (!es) {
      es = hs->new_stream(ex);
      {
        std::lock_guard lk(hs->mu);
        hs->standalone = es;
      }
      auto box = std::make_shared<server::Outbox>(ex);
      session->attach_standalone(box);
      asio::co_spawn(
          ex,
          [box, es]() -> asio::awaitable<void> {
            while (auto m = co_await box->pop())
              if (m->message) es->append(json::serialize(*m->message));
            es->finish();
          },
          asio::detached);
    }
    // A fresh GET (no Last-Event-ID) gets everything still buffered that no
    // connection has delivered yet; delivered events are not repeated.
    std::uint64_t start;
    {
      std::lock_guard lk(hs->mu);
      start = hs->standalone_delivered;
    }
    // A named std::function, not a lambda temporary: GCC 12 destroys
    // temporaries in a co_await's full-expression twice.
    std::function<void(std::uint64_t)> release = [hs](std::uint64_t delivered) {
      std::lock_guard lk(hs->mu);
      hs->standalone_connected = false;
      hs->standalone_delivered = std::max(hs->standalone_delivered, delivered);
    };
    co_return co_await write_sse(stream, req, es, start, std::string(),
                                 std::string(session->protocol_version()), std::move(release));
  }

  asio::awaitable<bool> handle_delete(beast::tcp_stream& stream, Request& req,
                                      const protocol::Principal& principal) {
    auto r = session_for(req, principal);
    if (r.index() == 1) co_return co_await reply(stream, req, std::move(std::get<1>(r)));
    auto session = std::move(std::get<0>(r));
    engine.close_session(session->id());
    forget_session(session->id());
    Response res{http::status::ok, req.version()};
    co_return co_await reply(stream, req, std::move(res));
  }
};

HttpServer::HttpServer(asio::io_context& ioc, server::Engine& engine, HttpOptions opts)
    : impl_(std::make_shared<Impl>(ioc, engine, std::move(opts))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::add_route(RouteHandler h) { impl_->routes.push_back(std::move(h)); }
void HttpServer::set_authenticator(Authenticator a) { impl_->authenticator = std::move(a); }
void HttpServer::set_message_check(MessageCheck c) { impl_->message_check = std::move(c); }

void HttpServer::start() {
  auto& i = *impl_;
  if (!i.acceptor.is_open()) bind();
  asio::co_spawn(i.acceptor.get_executor(), i.accept_loop(), asio::detached);
  asio::co_spawn(i.ioc, i.sweep_loop(), asio::detached);
}

void HttpServer::bind() {
  auto& i = *impl_;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(i.opts.host, ec);
  if (ec) throw std::runtime_error(fmt::format("invalid listen address '{}'", i.opts.host));
  tcp::endpoint ep(addr, i.opts.port);
  i.acceptor.open(ep.protocol(), ec);
  // Asio opens without SOCK_CLOEXEC; an inherited listener would let a
  // server accept() other clients' connections.
  if (!ec && ::fcntl(i.acceptor.native_handle(), F_SETFD, FD_CLOEXEC) != 0)
    ec.assign(errno, boost::system::system_category());
  if (!ec) i.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor.bind(ep, ec);
  if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("cannot listen on {}:{}: {}", i.opts.host, i.opts.port, ec.message()));
  i.loopback_only = is_loopback_address(i.opts.host);
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
  // Ending sessions closes their streams, so SSE writers finish cleanly.
  self->engine.close_all();
  std::set<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard lk(self->mu);
    conns = self->live;
  }
  for (auto& c : conns)
    asio::post(c->stream.get_executor(), [c] {
      boost::system::error_code ignored;
      c->stream.socket().shutdown(tcp::socket::shutdown_receive, ignored);
    });
}

}  // namespace bastion::transport
