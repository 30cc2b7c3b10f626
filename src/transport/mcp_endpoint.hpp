// The MCP endpoint of Streamable HTTP (MCP 2025-11-25 §transports): what
// POST, GET and DELETE mean for sessions, and how each answer goes out
// (JSON, an SSE stream, or a bare status). The decisions that need no I/O
// (reading a POST body: post_body.hpp) are pure functions beside it, tested
// directly.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/expected.hpp"
#include "protocol/jsonrpc.hpp"
#include "server/engine.hpp"
#include "server/session.hpp"
#include "transport/http_connection.hpp"
#include "transport/http_server.hpp"
#include "transport/post_body.hpp"
#include "transport/request_guards.hpp"
#include "transport/sse.hpp"

namespace bastion::transport {

// The request headers a Modern (2026-07-28) POST must carry and that must
// agree with its body (spec streamable-http §Server Validation):
// MCP-Protocol-Version against _meta's protocolVersion, Mcp-Method against
// the method, Mcp-Name (Base64 sentinel decoded) against params.name or
// params.uri. A refusal is 400 with HeaderMismatch (-32020).
std::optional<Refusal> check_modern_headers(const Request& req, const protocol::Message& msg);

// The HTTP status of a Modern answer that carries `error_code`: 404 for an
// unknown method, 400 for the 2026-07-28 request errors, 200 otherwise.
http::status modern_status(int error_code);

// Serves the MCP endpoint for one listener. Thread-safe; every request on
// its connection's coroutine.
class McpEndpoint {
 public:
  McpEndpoint(server::Engine& engine, const HttpOptions& opts, GuardOptions guards);

  void set_authenticator(Authenticator a) { authenticator_ = std::move(a); }
  void set_message_check(MessageCheck c) { message_check_ = std::move(c); }

  // Answers one request; true when the connection may serve another.
  boost::asio::awaitable<bool> handle(HttpConnection& conn, Request& req);

  // The engine closed this session: its streams can no longer be resumed.
  void session_closed(const std::string& session_id) { streams_.drop(session_id); }
  std::size_t sessions_with_streams() const { return streams_.size(); }

 private:
  struct Exchange;
  struct PostCall;
  struct ModernRun;
  using SessionPtr = std::shared_ptr<server::Session>;

  // The checks of handle() that need no I/O: the answer to send at once (a
  // refusal, CORS preflight), or nullopt to serve the method (x.cors and
  // x.principal set).
  std::optional<Response> screen(Exchange& x);
  boost::asio::awaitable<bool> post(Exchange& x);
  // A POST's body read and checked, and its session found or opened
  // (`call`); or the answer to send at once.
  std::optional<Response> open_post(const Exchange& x, PostCall& call);
  // The JSON answer to a Legacy POST whose requests are all answered.
  Response json_answer(const Exchange& x, const PostCall& call,
                       const std::vector<server::Outgoing>& responses);
  // A Legacy POST turned into an SSE stream: what arrived so far first, a
  // pump for the rest.
  boost::asio::awaitable<bool> stream_answer(Exchange& x, const PostCall& call,
                                             const std::shared_ptr<server::Outbox>& out,
                                             const std::vector<server::Outgoing>& responses,
                                             const std::vector<server::Outgoing>& early,
                                             std::size_t remaining);
  // A stateless Modern request: no session, answered as JSON or as an SSE
  // stream without event ids (not resumable), cancelled when the client
  // goes away.
  boost::asio::awaitable<bool> post_modern(Exchange& x, protocol::Message& msg);
  // A Modern request's checks that need no I/O: the answer to send at once,
  // or nullopt to run it (msg.param_headers set).
  std::optional<Response> open_modern(const Exchange& x, protocol::Message& msg);
  // What to answer once the first message of a Modern request is out
  // (`first`; none when the client went away): the JSON answer, 202 for a
  // request cancelled without one, or nullopt for an SSE stream or a client
  // that is gone (then `first` is reset). Ends the request's session unless
  // it streams.
  std::optional<Response> first_answer(const Exchange& x, ModernRun& run,
                                       std::optional<server::Outgoing>& first);
  // The rest of a Modern request as an SSE stream, `first` first.
  boost::asio::awaitable<bool> stream_modern(Exchange& x, ModernRun& run,
                                             server::Outgoing& first);
  boost::asio::awaitable<bool> get(Exchange& x);
  boost::asio::awaitable<bool> del(Exchange& x);
  // Sends `res` (moved from). By reference: an argument passed by value is
  // a temporary in the caller's frame as well as in this one.
  boost::asio::awaitable<bool> reply(Exchange& x, Response& res);
  // Coroutine arguments here are named objects passed by reference or moved
  // from: GCC 12 destroys some temporaries of a co_await expression twice.
  boost::asio::awaitable<bool> refuse(Exchange& x, const Refusal& r);
  // Mcp-Session-Id into a live session of this caller, or why not.
  protocol::Expected<SessionPtr, Refusal> session_for(const Exchange& x,
                                                      const boost::json::value& id);
  SseResponse sse_head(const Exchange& x, std::string session_id, std::string_view version) const;

  server::Engine& engine_;
  const HttpOptions& opts_;
  GuardOptions guards_;
  Authenticator authenticator_;
  MessageCheck message_check_;
  StreamTable streams_;
};

struct McpEndpoint::Exchange {
  HttpConnection& conn;
  Request& req;
  bool cors = false;  // the Origin may read the answer
  protocol::Principal principal;
};

}  // namespace bastion::transport
