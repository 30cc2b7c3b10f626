// Streamable HTTP for Modern (2026-07-28) requests: header validation, one
// ephemeral session per request, JSON or a non-resumable SSE stream, and
// the client's disconnect as cancellation (spec streamable-http).
#include <fmt/format.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>

#include "protocol/era.hpp"
#include "protocol/json_text.hpp"
#include "protocol/param_headers.hpp"
#include "server/outbox.hpp"
#include "transport/field_value.hpp"
#include "transport/mcp_endpoint.hpp"

namespace bastion::transport {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace asio::experimental::awaitable_operators;

namespace {

// A Modern request's outbox: what waits for its client to read (its
// notifications; the response is always taken).
constexpr std::size_t kModernQueue = 10000;
constexpr std::size_t kModernQueueBytes = 8u << 20;

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Refusal mismatch(std::string message, const json::value& id) {
  auto e = protocol::header_mismatch(std::move(message));
  return Refusal{http::status::bad_request, e.code, e.message, id};
}

// The one value of header `name` (OWS trimmed), nullopt when absent; a
// repeated header or a control character is a refusal.
std::optional<std::string_view> single_header(const Request& req, std::string_view name,
                                              const json::value& id,
                                              std::optional<Refusal>& refusal) {
  auto n = field_count(req, name);
  if (n == 0) return std::nullopt;
  if (n > 1) {
    refusal = mismatch(std::string(name) + " header appears more than once", id);
    return std::nullopt;
  }
  std::string_view v = trim_ows(field_value(req, name));
  for (char c : v)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
      refusal = mismatch(std::string(name) + " header holds a control character", id);
      return std::nullopt;
    }
  return v;
}

// The request's Mcp-Param-* headers, every occurrence, names compared
// case-insensitively (what they must agree with is the engine's to know:
// the called tool's annotations).
protocol::ReceivedParamHeaders param_headers_of(const Request& req) {
  protocol::ReceivedParamHeaders out;
  constexpr std::string_view kPrefix = protocol::kParamHeaderPrefix;
  for (const auto& f : req) {
    std::string_view name = f.name_string();
    if (name.size() < kPrefix.size() ||
        !boost::beast::iequals(name.substr(0, kPrefix.size()), kPrefix))
      continue;
    out.emplace_back(std::string(name.substr(kPrefix.size())), std::string(f.value()));
  }
  return out;
}

// The client going away while its Modern request runs (spec: closing the
// connection cancels the request). One wait for the connection to turn
// readable, for the whole request: closed (EOF or an error) closes the
// request's session, which cancels the request, and its outbox, which ends
// the wait for the answer; bytes instead (a pipelined request) end the
// watch. stop() cancels the wait; nothing happens after it. One armed wait
// per request, not a race of two coroutines per message (which cost a
// parallel group, two spawned frames and a cancellation round trip on every
// call). Lives on the connection's executor (its worker loop), as the
// request's coroutine does.
class PeerWatch : public std::enable_shared_from_this<PeerWatch> {
 public:
  PeerWatch(std::shared_ptr<server::Session> session, std::shared_ptr<server::Outbox> out)
      : session_(std::move(session)), out_(std::move(out)) {}

  void start(asio::ip::tcp::socket& sock) {
    sock.async_wait(asio::ip::tcp::socket::wait_read,
                    asio::bind_cancellation_slot(
                        cancel_.slot(), [self = shared_from_this(), fd = sock.native_handle()](
                                            const boost::system::error_code& ec) {
                          self->on_ready(ec, fd);
                        }));
  }
  bool gone() const { return gone_; }
  void stop() {
    if (done_) return;
    done_ = true;
    cancel_.emit(asio::cancellation_type::all);
  }

 private:
  void on_ready(const boost::system::error_code& ec, int fd) {
    if (done_ || ec == asio::error::operation_aborted) return;
    done_ = true;
    if (!ec) {
      char byte;
      ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) return;
    }
    gone_ = true;
    session_->close();
    out_->close();
  }

  std::shared_ptr<server::Session> session_;
  std::shared_ptr<server::Outbox> out_;
  asio::cancellation_signal cancel_;
  bool done_ = false;
  bool gone_ = false;
};

}  // namespace

std::optional<Refusal> check_modern_headers(const Request& req, const protocol::Message& msg) {
  const json::value& id = msg.id;
  std::optional<Refusal> refusal;
  auto method = single_header(req, "Mcp-Method", id, refusal);
  if (refusal) return refusal;
  if (!method) return mismatch("the Mcp-Method header is required", id);
  if (*method != msg.method)
    return mismatch(fmt::format("Mcp-Method header value '{}' does not match body method '{}'",
                                method->substr(0, 64), std::string_view(msg.method).substr(0, 64)),
                    id);
  const json::object* params = msg.params();
  std::string_view field = protocol::mcp_name_field(msg.method);
  if (!field.empty()) {
    const json::value* body = params ? params->if_contains(field) : nullptr;
    auto name = single_header(req, "Mcp-Name", id, refusal);
    if (refusal) return refusal;
    if (body && body->is_string()) {
      if (!name) return mismatch("the Mcp-Name header is required for " + msg.method, id);
      auto decoded = protocol::decode_header_value(*name);
      if (!decoded) return mismatch("the Mcp-Name header is not valid Base64", id);
      if (*decoded != body->get_string())
        return mismatch(fmt::format("Mcp-Name header does not match body params.{}", field), id);
    } else if (name) {
      return mismatch(fmt::format("Mcp-Name header without a params.{} in the body", field), id);
    }
  }
  auto version = single_header(req, "MCP-Protocol-Version", id, refusal);
  if (refusal) return refusal;
  if (!version) return mismatch("the MCP-Protocol-Version header is required", id);
  if (params)
    if (auto* meta = params->if_contains("_meta"); meta && meta->is_object())
      if (auto* pv = meta->get_object().if_contains(protocol::meta_key::kProtocolVersion);
          pv && pv->is_string() && pv->get_string() != *version)
        return mismatch(
            fmt::format("MCP-Protocol-Version header '{}' does not match _meta "
                        "protocolVersion '{}'",
                        version->substr(0, 64), std::string_view(pv->get_string()).substr(0, 64)),
            id);
  return std::nullopt;
}

http::status modern_status(int code) {
  switch (code) {
    case protocol::kMethodNotFound:
      return http::status::not_found;
    case protocol::kHeaderMismatch:
    case protocol::kMissingRequiredClientCapability:
    case protocol::kUnsupportedProtocolVersion:
      return http::status::bad_request;
    case protocol::kResourceExhausted:
      return http::status::too_many_requests;
    default:
      return http::status::ok;
  }
}

// A Modern request under way: its session (of its own, nameless), the
// outbox its messages come out of, and the watch on its client.
struct McpEndpoint::ModernRun {
  std::shared_ptr<server::Session> session;
  std::shared_ptr<server::Outbox> out;
  std::shared_ptr<PeerWatch> watch;
};

// The coroutines of a Modern request keep little in their frames (Asio
// recycles a frame only up to 1,020 bytes; above it each call is a malloc
// and a free): the checks and the JSON answer are plain functions, the SSE
// stream a coroutine of its own.
asio::awaitable<bool> McpEndpoint::post_modern(Exchange& x, protocol::Message& msg) {
  std::optional<Response> answer = open_modern(x, msg);
  if (answer) co_return co_await reply(x, *answer);

  // Any Mcp-Session-Id is ignored (spec): the request runs in a session of
  // its own that nobody can name, and none is minted or echoed.
  auto ex = co_await asio::this_coro::executor;
  // Its notifications wait here while the client reads: bounded by bytes
  // as well as by count (an upstream's notifications may be 16 MiB each).
  ModernRun run{engine_.create_ephemeral_session(x.principal),
                std::make_shared<server::Outbox>(ex, kModernQueue, kModernQueueBytes), nullptr};
  run.watch = std::make_shared<PeerWatch>(run.session, run.out);
  run.session->deliver(std::move(msg), run.out, ex);
  run.watch->start(x.conn.stream().socket());

  std::optional<server::Outgoing> first = co_await run.out->pop();
  answer = first_answer(x, run, first);
  if (answer) co_return co_await reply(x, *answer);
  if (!first) co_return false;  // the client went away
  co_return co_await stream_modern(x, run, *first);
}

std::optional<Response> McpEndpoint::open_modern(const Exchange& x, protocol::Message& msg) {
  const unsigned v = x.req.version();
  if (msg.kind == protocol::MessageKind::kResponse || msg.kind == protocol::MessageKind::kError)
    return error_response(v, Refusal{http::status::bad_request, protocol::kInvalidRequest,
                                     "Invalid Request: a 2026-07-28 client sends no JSON-RPC "
                                     "responses"});
  // 2026-07-28 defines no client notifications over HTTP (closing the
  // stream cancels): accepted and dropped, never tied to a session.
  if (msg.kind == protocol::MessageKind::kNotification) return Response{http::status::accepted, v};
  std::optional<Refusal> bad = check_modern_headers(x.req, msg);
  if (bad) return error_response(v, *bad);
  auto meta = protocol::read_request_meta(msg.params());
  if (!meta) {
    const auto& e = meta.error();
    return error_response(
        v, Refusal{http::status::bad_request, e.code, e.message, msg.id, false, e.data});
  }
  if (message_check_) {
    std::optional<Response> denied = message_check_(x.req, x.principal, msg.raw);
    if (denied) return denied;
  }
  msg.param_headers = param_headers_of(x.req);
  return std::nullopt;
}

std::optional<Response> McpEndpoint::first_answer(const Exchange& x, ModernRun& run,
                                                  std::optional<server::Outgoing>& first) {
  const unsigned v = x.req.version();
  if (run.watch->gone()) first.reset();
  if (!first || (first->ends_request && !first->message)) {
    run.watch->stop();
    engine_.end_ephemeral_session(run.session);  // closes it
    if (!first && run.watch->gone()) return std::nullopt;
    return Response{http::status::accepted, v};  // cancelled: nothing to say
  }
  if (!first->ends_request) return std::nullopt;  // an SSE stream
  run.watch->stop();
  engine_.end_ephemeral_session(run.session);
  json::object& m = *first->message;
  http::status status = http::status::ok;
  if (auto* e = m.if_contains("error"); e && e->is_object())
    if (auto* c = e->get_object().if_contains("code"); c && c->is_int64())
      status = modern_status(static_cast<int>(c->get_int64()));
  return json_text_response(v, status, server::wire_text(*first));
}

asio::awaitable<bool> McpEndpoint::stream_modern(Exchange& x, ModernRun& run,
                                                 server::Outgoing& first) {
  // An SSE stream scoped to this request, without event ids: a broken
  // stream loses the request, which the client re-issues (spec: no
  // resumption in 2026-07-28).
  const unsigned v = x.req.version();
  auto ex = co_await asio::this_coro::executor;
  http::response<http::empty_body> head{http::status::ok, v};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");
  apply_cors(head, field_value(x.req, http::field::origin), x.cors);
  head.chunked(true);
  head.keep_alive(x.req.keep_alive());
  bool ok = co_await x.conn.write_header(head);
  std::optional<server::Outgoing> m = std::move(first);
  while (ok && m && !run.watch->gone()) {
    bool last = m->ends_request;
    if (m->message) {
      std::string event = "event: message\ndata: " + server::wire_text(*m) + "\n\n";
      ok = co_await x.conn.write_chunk(event);
    }
    if (!ok || last) break;
    // Idle streams (a listen) get comment lines, which also find a peer
    // that went away without a FIN.
    for (;;) {
      asio::steady_timer idle(ex, opts_.sse_keepalive);
      auto r = co_await (run.out->pop() || idle.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (r.index() == 0) {
        m = std::move(std::get<0>(r));
        break;
      }
      if (run.watch->gone() || !(ok = co_await x.conn.write_chunk(": keep-alive\n\n"))) {
        m.reset();
        break;
      }
    }
  }
  run.watch->stop();
  if (!ok || !m || !m->ends_request || run.watch->gone()) {
    // The client is gone: closing its session cancels the request.
    engine_.end_ephemeral_session(run.session);
    co_return false;
  }
  engine_.end_ephemeral_session(run.session);
  co_return co_await x.conn.write_last_chunk() && x.req.keep_alive() && !x.conn.stopping();
}

}  // namespace bastion::transport
