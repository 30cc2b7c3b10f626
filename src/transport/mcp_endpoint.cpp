#include "transport/mcp_endpoint.hpp"

#include <fmt/format.h>

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include "protocol/era.hpp"
#include "protocol/json_text.hpp"
#include "protocol/version.hpp"
#include "server/outbox.hpp"
#include "transport/field_value.hpp"

namespace bastion::transport {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::kInvalidRequest;

McpEndpoint::McpEndpoint(server::Engine& engine, const HttpOptions& opts, GuardOptions guards)
    : engine_(engine), opts_(opts), guards_(std::move(guards)) {}

// Not a coroutine: the write's own awaitable (which holds the response).
asio::awaitable<bool> McpEndpoint::reply(Exchange& x, Response& res) {
  apply_cors(res, field_value(x.req, http::field::origin), x.cors);
  return x.conn.write(std::move(res), x.req.keep_alive());
}

asio::awaitable<bool> McpEndpoint::refuse(Exchange& x, const Refusal& r) {
  Response res = error_response(x.req.version(), r);
  return reply(x, res);  // moved into the write's awaitable
}

SseResponse McpEndpoint::sse_head(const Exchange& x, std::string session_id,
                                  std::string_view version) const {
  SseResponse head;
  head.session_id = std::move(session_id);
  head.protocol_version = std::string(version);
  if (x.cors) head.cors_origin = std::string(field_value(x.req, http::field::origin));
  head.keepalive = opts_.sse_keepalive;
  head.retry = opts_.sse_retry;
  return head;
}

// The coroutines of a call keep their frames under the 1,020 bytes Asio
// recycles per thread (GCC keeps every local of a coroutine in its frame,
// and a larger frame is a malloc and free per request): what needs no
// co_await is decided in the plain functions beside them (screen,
// open_post, json_answer), which hand back a small result; the rare SSE
// answer has a coroutine of its own.

asio::awaitable<bool> McpEndpoint::handle(HttpConnection& conn, Request& req) {
  Exchange x{conn, req};
  std::optional<Response> answer = screen(x);
  if (answer) co_return co_await reply(x, *answer);
  if (req.method() == http::verb::post) co_return co_await post(x);
  if (req.method() == http::verb::get) co_return co_await get(x);
  co_return co_await del(x);
}

std::optional<Response> McpEndpoint::screen(Exchange& x) {
  const Request& req = x.req;
  const unsigned v = req.version();
  Admission admission = admit(req, guards_);
  if (admission.refusal) return error_response(v, *admission.refusal);
  x.cors = admission.cors;

  if (req.method() == http::verb::options) {
    Response res{http::status::no_content, v};
    res.set(http::field::access_control_allow_methods, "GET, POST, DELETE");
    res.set(http::field::access_control_allow_headers,
            "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, "
            "Last-Event-ID, Mcp-Method, Mcp-Name");
    res.set(http::field::access_control_max_age, "86400");
    return res;
  }
  if (req.method() != http::verb::post && req.method() != http::verb::get &&
      req.method() != http::verb::delete_) {
    Response res = error_response(
        v, Refusal{http::status::method_not_allowed, kInvalidRequest, "Method not allowed"});
    res.set(http::field::allow, "GET, POST, DELETE, OPTIONS");
    return res;
  }
  if (req.method() != http::verb::post &&
      protocol::is_modern_version(field_value(req, "MCP-Protocol-Version"))) {
    // 2026-07-28 has no GET stream and no sessions to DELETE.
    Response res = error_response(
        v, Refusal{http::status::method_not_allowed, kInvalidRequest,
                   "Method not allowed: 2026-07-28 uses POST only (subscriptions/listen replaces "
                   "the GET stream)"});
    res.set(http::field::allow, "POST, OPTIONS");
    return res;
  }
  if (authenticator_) {
    auto who = authenticator_(req, RequestContext{x.conn.peer()});
    if (!who) return std::move(who.error());
    x.principal = std::move(who.value());
  }
  return std::nullopt;
}

protocol::Expected<McpEndpoint::SessionPtr, Refusal> McpEndpoint::session_for(
    const Exchange& x, const json::value& id) {
  auto sid = field_value(x.req, "Mcp-Session-Id");
  if (sid.empty()) return bad_request("Bad Request: Mcp-Session-Id header is required", id);
  auto s = engine_.find_session(sid);
  // A session belongs to the caller that created it (issuer, subject and
  // client: many users may share one client); to anyone else it does not
  // exist.
  if (!s || !s->belongs_to(x.principal))
    return Refusal{http::status::not_found, protocol::kSessionNotFound, "Session not found", id};
  return s;
}

namespace {

// A new session refused: 503 while the server is full, 429 for a caller at
// its own bound (it can end one of its sessions).
Refusal session_refusal(const server::Engine::SessionRefused& r, const json::value& id) {
  if (r.limit == server::Engine::SessionLimit::kPerCaller)
    return Refusal{http::status::too_many_requests, protocol::kResourceExhausted, r.reason, id};
  return Refusal{http::status::service_unavailable, protocol::kInternalError, r.reason, id};
}

}  // namespace

struct McpEndpoint::PostCall {
  PostBody body;
  bool modern = false;   // a 2026-07-28 request: served statelessly (post_modern)
  SessionPtr session;    // otherwise the session it belongs to,
  bool created = false;  // which this request (initialize) opened
};

namespace {

// Each request is served with the scopes of the token it came with, not
// those the session was opened with.
void deliver_all(server::Session& session, const protocol::Principal& caller,
                 std::vector<protocol::Message>& messages,
                 const std::shared_ptr<server::Outbox>& out, const asio::any_io_executor& ex) {
  auto who = session.admit_caller(caller);
  for (auto& m : messages) session.deliver(std::move(m), out, ex, who);
}

}  // namespace

asio::awaitable<bool> McpEndpoint::post(Exchange& x) {
  PostCall call;
  std::optional<Response> answer = open_post(x, call);
  if (answer) co_return co_await reply(x, *answer);
  if (call.modern) co_return co_await post_modern(x, call.body.messages.front());

  auto ex = co_await asio::this_coro::executor;
  auto out = call.body.requests == 0 ? std::make_shared<server::Outbox>(ex, 16)
                                     : std::make_shared<server::Outbox>(ex);
  deliver_all(*call.session, x.principal, call.body.messages, out, ex);
  if (call.body.requests == 0) {
    // Only notifications and responses: accepted, nothing to stream back.
    answer.emplace(http::status::accepted, x.req.version());
    co_return co_await reply(x, *answer);
  }

  // JSON while only final responses arrive; the first notification or
  // server-to-client request turns this POST into an SSE stream.
  std::size_t remaining = call.body.requests;
  std::vector<server::Outgoing> responses;
  std::vector<server::Outgoing> early;  // messages to put first on the stream
  while (remaining > 0) {
    std::optional<server::Outgoing> m = co_await out->pop();
    if (!m) break;
    if (m->ends_request) {
      --remaining;
      if (m->message) responses.push_back(std::move(*m));
      continue;
    }
    early.push_back(std::move(*m));
    break;
  }

  if (early.empty()) {
    answer = json_answer(x, call, responses);
    co_return co_await reply(x, *answer);
  }
  co_return co_await stream_answer(x, call, out, responses, early, remaining);
}

asio::awaitable<bool> McpEndpoint::stream_answer(Exchange& x, const PostCall& call,
                                                 const std::shared_ptr<server::Outbox>& out,
                                                 const std::vector<server::Outgoing>& responses,
                                                 const std::vector<server::Outgoing>& early,
                                                 std::size_t remaining) {
  // SSE: a pump moves everything for this POST into a resumable stream.
  const SessionPtr& session = call.session;
  auto table = streams_.get(session->id(), [session] { return session->closed(); });
  auto ex = co_await asio::this_coro::executor;
  auto es = table->create(ex);
  for (auto& r : responses) es->append(server::wire_text(r));
  for (auto& e : early) es->append(server::wire_text(e));
  pump(out, es, remaining, ex, table);
  std::uint64_t last = 0;
  SseResponse head =
      sse_head(x, call.created ? session->id() : std::string(), session->protocol_version());
  co_return co_await write_sse(x.conn, x.req, es, &last, std::move(head));
}

std::optional<Response> McpEndpoint::open_post(const Exchange& x, PostCall& call) {
  const unsigned v = x.req.version();
  if (!is_json_content_type(field_value(x.req, http::field::content_type))) {
    return error_response(v, Refusal{http::status::unsupported_media_type, kInvalidRequest,
                                     "Unsupported Media Type: Content-Type must be "
                                     "application/json"});
  }
  auto read = read_post_body(x.req.body());
  if (!read) return error_response(v, read.error());
  call.body = std::move(read.value());
  PostBody& body = call.body;
  // From here on, errors about the request carry its id.
  auto accept = field_value(x.req, http::field::accept);
  if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream")) {
    return error_response(v, Refusal{http::status::not_acceptable, kInvalidRequest,
                                     "Not Acceptable: client must accept both application/json "
                                     "and text/event-stream",
                                     body.id});
  }
  // The era decides everything from here on: a Modern request is served
  // statelessly, a Legacy one in its session.
  const std::string_view header_version = field_value(x.req, "MCP-Protocol-Version");
  for (const auto& m : body.messages)
    call.modern |= protocol::era_of(m.params(), header_version) == protocol::Era::kModern;
  if (call.modern && body.batch)
    return error_response(
        v, bad_request("Invalid Request: JSON-RPC batches are not supported in 2026-07-28"));
  if (call.modern) return std::nullopt;

  std::optional<Refusal> bad_version = check_protocol_version(x.req, body.id);
  if (bad_version) return error_response(v, *bad_version);
  if (message_check_)
    for (const auto& m : body.messages) {
      std::optional<Response> denied = message_check_(x.req, x.principal, m.raw);
      if (denied) return denied;
    }

  if (body.initialize) {
    // initialize opens a session; naming one that is live (and ours) asks
    // to initialize it twice.
    if (!field_value(x.req, "Mcp-Session-Id").empty() && session_for(x, body.id))
      return error_response(
          v, bad_request("Invalid Request: the session is already initialized", body.id));
    auto opened = engine_.open_session(x.principal);
    if (!opened) return error_response(v, session_refusal(opened.error(), body.id));
    call.session = std::move(opened.value());
    call.created = true;
    return std::nullopt;
  }
  auto found = session_for(x, body.id);
  if (!found) return error_response(v, found.error());
  call.session = std::move(found.value());
  if (body.batch && !call.session->allows_batches())
    return error_response(
        v, bad_request(
               "Invalid Request: JSON-RPC batches are not supported in this protocol version"));
  return std::nullopt;
}

Response McpEndpoint::json_answer(const Exchange& x, const PostCall& call,
                                  const std::vector<server::Outgoing>& responses) {
  const unsigned v = x.req.version();
  // A failed (or cancelled) initialize leaves no session behind.
  bool initialized = !responses.empty() && !responses[0].message->contains("error");
  Response res;
  if (responses.empty()) {
    res = Response{http::status::accepted, v};  // every request was cancelled
  } else {
    std::string payload;
    if (call.body.batch) payload += '[';
    for (const auto& r : responses) {
      if (payload.size() > 1) payload += ',';
      payload += server::wire_text(r);
    }
    if (call.body.batch) payload += ']';
    res = json_text_response(v, http::status::ok, std::move(payload));
  }
  if (call.created && initialized) res.set("Mcp-Session-Id", call.session->id());
  if (call.created && !initialized) engine_.close_session(call.session->id());
  return res;
}

asio::awaitable<bool> McpEndpoint::get(Exchange& x) {
  if (!accepts(field_value(x.req, http::field::accept), "text/event-stream")) {
    const Refusal r{http::status::not_acceptable, kInvalidRequest,
                    "Not Acceptable: GET requires Accept: text/event-stream"};
    co_return co_await refuse(x, r);
  }
  std::optional<Refusal> bad_version = check_protocol_version(x.req, nullptr);
  if (bad_version) co_return co_await refuse(x, *bad_version);
  auto found = session_for(x, nullptr);
  if (!found) co_return co_await refuse(x, found.error());
  SessionPtr session = std::move(found.value());
  session->touch();
  session->admit_caller(x.principal);  // what the stream carries follows its scopes
  auto table = streams_.get(session->id(), [session] { return session->closed(); });
  auto ex = co_await asio::this_coro::executor;
  const std::string version(session->protocol_version());

  // Resumption of any stream of this session.
  auto last_event = field_value(x.req, "Last-Event-ID");
  if (!last_event.empty()) {
    std::optional<std::pair<std::string, std::uint64_t>> from = parse_event_id(last_event);
    std::shared_ptr<EventStream> es;
    if (from) es = table->find(from->first);
    if (es) {
      std::uint64_t last = from->second;
      SseResponse head = sse_head(x, std::string(), version);
      co_return co_await write_sse(x.conn, x.req, es, &last, std::move(head));
    }
  }

  // The standalone stream for server-initiated messages: a fresh GET gets
  // everything still buffered that no connection delivered yet.
  bool created = false;
  std::uint64_t last = 0;
  auto es = table->claim_standalone(ex, created, last);
  if (!es) {
    const Refusal r{http::status::conflict, kInvalidRequest,
                    "Conflict: only one standalone SSE stream is allowed per session"};
    co_return co_await refuse(x, r);
  }
  if (created) {
    auto box = std::make_shared<server::Outbox>(ex);
    session->attach_standalone(box);
    pump(box, es, std::nullopt, ex);
  }
  SseResponse head = sse_head(x, std::string(), version);
  bool keep = co_await write_sse(x.conn, x.req, es, &last, std::move(head));
  table->release_standalone(last);
  co_return keep;
}

asio::awaitable<bool> McpEndpoint::del(Exchange& x) {
  std::optional<Refusal> bad_version = check_protocol_version(x.req, nullptr);
  if (bad_version) co_return co_await refuse(x, *bad_version);
  auto found = session_for(x, nullptr);
  if (!found) co_return co_await refuse(x, found.error());
  engine_.close_session(found.value()->id());  // its streams go with it (session_closed)
  Response res{http::status::ok, x.req.version()};
  co_return co_await reply(x, res);
}

}  // namespace bastion::transport
