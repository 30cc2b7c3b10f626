// Streamable HTTP for Modern (2026-07-28) requests: header validation, one
// ephemeral session per request, JSON or a non-resumable SSE stream, and
// the client's disconnect as cancellation (spec streamable-http).
#include <fmt/format.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
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
#include "transport/mcp_endpoint.hpp"

namespace bastion::transport {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace asio::experimental::awaitable_operators;

namespace {

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
  auto n = req.count(name);
  if (n == 0) return std::nullopt;
  if (n > 1) {
    refusal = mismatch(std::string(name) + " header appears more than once", id);
    return std::nullopt;
  }
  std::string_view v = trim_ows(req[name]);
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

enum class Peer { kAborted, kClosed, kSentData };

// Watches the connection while we owe it an answer: kClosed once the peer
// closed its side, kSentData when it sent bytes instead (a pipelined
// request: stop watching), kAborted when the watch was cancelled.
asio::awaitable<Peer> watch_peer(HttpConnection& conn) {
  auto& sock = conn.stream().socket();
  auto [ec] = co_await sock.async_wait(asio::ip::tcp::socket::wait_read,
                                       asio::as_tuple(asio::use_awaitable));
  if (ec == asio::error::operation_aborted) co_return Peer::kAborted;
  if (ec) co_return Peer::kClosed;
  char byte;
  ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) co_return Peer::kClosed;
  co_return Peer::kSentData;
}

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

asio::awaitable<bool> McpEndpoint::post_modern(Exchange& x, protocol::Message& msg) {
  const unsigned v = x.req.version();
  if (msg.kind == protocol::MessageKind::kResponse || msg.kind == protocol::MessageKind::kError) {
    const Refusal r{http::status::bad_request, protocol::kInvalidRequest,
                    "Invalid Request: a 2026-07-28 client sends no JSON-RPC responses"};
    co_return co_await refuse(x, r);
  }
  if (msg.kind == protocol::MessageKind::kNotification) {
    // 2026-07-28 defines no client notifications over HTTP (closing the
    // stream cancels): accepted and dropped, never tied to a session.
    Response res{http::status::accepted, v};
    co_return co_await reply(x, res);
  }
  std::optional<Refusal> bad = check_modern_headers(x.req, msg);
  if (bad) co_return co_await refuse(x, *bad);
  auto meta = protocol::read_request_meta(msg.params());
  if (!meta) {
    const auto& e = meta.error();
    const Refusal r{http::status::bad_request, e.code, e.message, msg.id, false, e.data};
    co_return co_await refuse(x, r);
  }
  if (message_check_) {
    std::optional<Response> denied = message_check_(x.req, x.principal, msg.raw);
    if (denied) co_return co_await reply(x, *denied);
  }
  msg.param_headers = param_headers_of(x.req);

  // Any Mcp-Session-Id is ignored (spec): the request runs in a session of
  // its own that nobody can name, and none is minted or echoed.
  auto ex = co_await asio::this_coro::executor;
  std::shared_ptr<server::Session> session = engine_.create_ephemeral_session(x.principal);
  auto out = std::make_shared<server::Outbox>(ex);
  session->deliver(std::move(msg), out, ex);

  bool watching = true;  // for the client going away
  bool gone = false;
  auto next = [&]() -> asio::awaitable<std::optional<server::Outgoing>> {
    for (;;) {
      if (!watching) co_return co_await out->pop();
      auto r = co_await (out->pop() || watch_peer(x.conn));
      if (r.index() == 0) co_return std::move(std::get<0>(r));
      switch (std::get<1>(r)) {
        case Peer::kAborted:  // this wait was cancelled (an idle tick won)
          co_return std::nullopt;
        case Peer::kClosed:
          gone = true;
          co_return std::nullopt;
        case Peer::kSentData:
          watching = false;
          break;
      }
    }
  };

  std::optional<server::Outgoing> first = co_await next();
  if (!first || (first->ends_request && !first->message)) {
    session->close();
    engine_.end_ephemeral_session(session);
    if (gone) co_return false;
    Response res{http::status::accepted, v};
    co_return co_await reply(x, res);
  }
  if (first->ends_request) {
    engine_.end_ephemeral_session(session);
    json::object& m = *first->message;
    http::status status = http::status::ok;
    if (auto* e = m.if_contains("error"); e && e->is_object())
      if (auto* c = e->get_object().if_contains("code"); c && c->is_int64())
        status = modern_status(static_cast<int>(c->get_int64()));
    Response res = json_text_response(v, status, server::wire_text(*first));
    co_return co_await reply(x, res);
  }

  // An SSE stream scoped to this request, without event ids: a broken
  // stream loses the request, which the client re-issues (spec: no
  // resumption in 2026-07-28).
  http::response<http::empty_body> head{http::status::ok, v};
  head.set(http::field::content_type, "text/event-stream");
  head.set(http::field::cache_control, "no-cache");
  head.set("X-Accel-Buffering", "no");
  apply_cors(head, x.req[http::field::origin], x.cors);
  head.chunked(true);
  head.keep_alive(x.req.keep_alive());
  bool ok = co_await x.conn.write_header(head);
  std::optional<server::Outgoing> m = std::move(first);
  while (ok && m) {
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
      auto r = co_await (next() || idle.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (r.index() == 0) {
        m = std::move(std::get<0>(r));
        break;
      }
      if (gone || !(ok = co_await x.conn.write_chunk(": keep-alive\n\n"))) {
        m.reset();
        break;
      }
    }
    if (!m) break;
  }
  if (!ok || !m || !m->ends_request) {
    session->close();  // the client is gone: its request is cancelled
    engine_.end_ephemeral_session(session);
    co_return false;
  }
  engine_.end_ephemeral_session(session);
  co_return co_await x.conn.write_last_chunk() && x.req.keep_alive() && !x.conn.stopping();
}

}  // namespace bastion::transport
