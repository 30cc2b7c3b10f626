// HttpChannel: one upstream over Streamable HTTP or the legacy HTTP+SSE
// transport: the POST of each message (JSON or SSE answer, session id,
// version, auth renewal), the resumption of a broken answer stream
// (Last-Event-ID, bounded) and the standalone GET stream.
// Over 500 lines for a reason: the three share the connection state (session
// id, negotiated version, the streams to cancel, closing) under one mutex and
// one delivery path into the inbox; the pure parts live beside it (the SSE
// parser in sse_parser, the Modern headers in era_wire).
#include "gateway/http_channel.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "gateway/era_wire.hpp"
#include "gateway/sse_parser.hpp"
#include "protocol/json_text.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/url_display.hpp"
#include "protocol/version.hpp"

namespace bastion::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

protocol::Expected<HttpChannel::Target, ChannelError> parse_http_url(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  // The error names the URL without its userinfo and query (credentials).
  if (!u) return ChannelError{fmt::format("invalid URL '{}'", protocol::display_url(url))};
  if (u->scheme() != "http")
    return ChannelError{
        fmt::format("URL '{}': only http:// upstreams are supported", protocol::display_url(url))};
  HttpChannel::Target t;
  t.host = std::string(u->host());
  t.port = u->has_port() ? std::string(u->port()) : "80";
  t.path = std::string(u->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}

HttpChannel::HttpChannel(asio::any_io_executor ex, HttpChannelOptions opts)
    : ex_(ex),
      opts_(std::move(opts)),
      out_(std::make_shared<server::Mailbox>(ex, 100000)),
      inbox_(std::make_shared<server::BasicMailbox<Inbound>>(ex, 100000)) {}

HttpChannel::~HttpChannel() = default;

protocol::Expected<std::monostate, ChannelError> HttpChannel::start() {
  auto target = parse_http_url(opts_.url);
  if (!target) return target.error();
  target_ = std::move(target.value());
  post_path_ = target_.path;
  auto self = shared_from_this();
  if (opts_.legacy_sse) {
    // The POST endpoint is announced on the stream; the writer waits for it.
    asio::co_spawn(
        ex_, [self] { return self->get_stream(self->target_.path, true); }, asio::detached);
  }
  asio::co_spawn(
      ex_, [self] { return self->writer(); }, asio::detached);
  return std::monostate{};
}

bool HttpChannel::send(json::object msg) {
  // A cancelled request's response stream is closed as well: for a Modern
  // server that is the cancellation, for a Legacy one it frees the stream.
  if (auto* m = msg.if_contains("method"); m && *m == "notifications/cancelled")
    if (auto* p = msg.if_contains("params"); p && p->is_object())
      if (auto* r = p->get_object().if_contains("requestId"); r && r->is_int64())
        cancel_streams(r->get_int64());
  return out_->push(std::move(msg));
}

void HttpChannel::cancel_streams(std::optional<std::int64_t> id) {
  asio::post(ex_, [self = shared_from_this(), id] {
    std::vector<std::function<void()>> close;
    {
      std::lock_guard lk(self->mu_);
      for (auto& [i, f] : self->cancel_stream_)
        if (!id || i == *id) close.push_back(f);
    }
    for (auto& f : close) f();
  });
}

asio::awaitable<std::optional<Inbound>> HttpChannel::receive() { return inbox_->pop(); }

void HttpChannel::deliver(json::object msg, std::optional<std::int64_t> related,
                          std::string result_text) {
  inbox_->push(Inbound{std::move(msg), related, std::move(result_text)});
}

void HttpChannel::fail(std::string reason) {
  {
    std::lock_guard lk(mu_);
    if (closed_) return;
    closed_ = true;
    reason_ = std::move(reason);
  }
  out_->close();
  inbox_->close();
  cancel_streams(std::nullopt);
  asio::post(ex_, [self = shared_from_this()] {
    std::vector<std::function<void()>> close;
    {
      std::lock_guard lk(self->mu_);
      if (self->cancel_standalone_) close.push_back(self->cancel_standalone_);
      for (auto& [serial, f] : self->open_streams_) close.push_back(f);
    }
    for (auto& f : close) f();
  });
}

void HttpChannel::close() { fail("closed by bastion"); }

std::string HttpChannel::close_reason() const {
  std::lock_guard lk(mu_);
  return reason_;
}

namespace {

// A response (not a request or notification) to the request with `id`.
bool answers(const json::object& m, const json::value* id) {
  if (!id || m.contains("method")) return false;
  auto* mid = m.if_contains("id");
  return mid && *mid == *id && (m.contains("result") || m.contains("error"));
}

}  // namespace

bool HttpChannel::deliver_data(std::string_view data, std::optional<std::int64_t> related,
                               const json::value* answer_to) {
  auto parsed = protocol::parse_json(data);
  if (!parsed) return false;
  auto& v = parsed.value();
  bool answered = false;
  if (v.is_object()) {
    // The negotiated version goes on every later request's header.
    if (auto* r = v.get_object().if_contains("result"); r && r->is_object())
      if (auto* pv = r->get_object().if_contains("protocolVersion");
          pv && pv->is_string() && r->get_object().contains("serverInfo")) {
        std::lock_guard lk(mu_);
        protocol_version_ = std::string(pv->get_string());
      }
    answered = answers(v.get_object(), answer_to);
    std::string result = result_text_of(v.get_object(), data);
    deliver(std::move(v.get_object()), related, std::move(result));
  }
  if (v.is_array())
    for (auto& e : v.get_array())
      if (e.is_object()) {
        answered |= answers(e.get_object(), answer_to);
        deliver(std::move(e.get_object()), related);
      }
  return answered;
}

asio::awaitable<void> HttpChannel::writer() {
  if (opts_.legacy_sse) {
    // Wait (bounded) for the endpoint event.
    asio::steady_timer t(ex_);
    for (int i = 0; i < 300; ++i) {
      {
        std::lock_guard lk(mu_);
        if (closed_ || post_path_ != target_.path) break;
      }
      t.expires_after(std::chrono::milliseconds(20));
      co_await t.async_wait(kTuple);
    }
  }
  while (auto m = co_await out_->pop()) {
    // Each POST on its own connection and coroutine: a long SSE answer must
    // not hold up the next request.
    asio::co_spawn(
        ex_,
        [self = shared_from_this(), msg = std::move(*m)]() mutable {
          return self->post(std::move(msg));
        },
        asio::detached);
  }
}

namespace {

// Reads an SSE body from `stream` through `sse`, calling on_event per event.
// False when the connection broke or the stream broke the parser's bound;
// true when the body ended.
template <class Stream, class Buffer, class Parser>
asio::awaitable<bool> read_sse(Stream& stream, Buffer& buf, Parser& parser, SseParser& sse,
                               const SseParser::OnEvent& on_event) {
  char chunk[8192];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    // read_some: an SSE event must be handled as soon as it arrives, not
    // when the buffer is full.
    auto [ec, n] = co_await http::async_read_some(stream, buf, parser, kTuple);
    if (ec && ec != http::error::need_buffer) co_return false;
    if (!sse.feed(std::string_view(chunk, sizeof chunk - parser.get().body().size), on_event))
      co_return false;
  }
  co_return true;
}

// The configured headers and, when a source is set, its Authorization value.
void set_client_headers(http::fields& h, const HttpChannelOptions& o, bool renew) {
  for (const auto& [k, v] : o.headers) h.set(k, v);
  if (!o.authorization) return;
  std::string auth = o.authorization(renew);
  if (!auth.empty()) h.set(http::field::authorization, auth);
}

}  // namespace

// A stream in flight, which fail() closes while this lives. Made and
// destroyed on ex_, where fail() runs the closers: the stream outlives them.
class HttpChannel::Tracked {
 public:
  // `answer`: a POST that carries no request. Not admitted when the channel
  // has closed or, for an answer, when kMaxOpenAnswers already wait (the
  // channel then fails, closing them all).
  Tracked(HttpChannel& ch, beast::tcp_stream& stream, bool answer) : ch_(ch), answer_(answer) {
    bool over = false;
    {
      std::lock_guard lk(ch.mu_);
      if (ch.closed_) return;
      over = answer && ch.open_answers_ >= kMaxOpenAnswers;
      if (!over) {
        serial_ = ch.next_stream_++;
        ch.open_streams_[*serial_] = [&stream] {
          boost::system::error_code ignored;
          stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
          stream.socket().close(ignored);
        };
        if (answer) ++ch.open_answers_;
      }
    }
    if (over)
      ch.fail(fmt::format("the server left {} of Bastion's answers and notifications unaccepted "
                          "(a server takes them at once, 202)",
                          kMaxOpenAnswers));
  }
  ~Tracked() {
    if (!serial_) return;
    std::lock_guard lk(ch_.mu_);
    ch_.open_streams_.erase(*serial_);
    if (answer_) --ch_.open_answers_;
    if (request_) ch_.cancel_stream_.erase(*request_);
  }
  // From now on, cancelling request `id` closes the stream (and sets
  // `*flag`): how a call's cancellation reaches the server. False when the
  // channel has closed (its end answered the request).
  bool cancelled_by(std::int64_t id, bool* flag = nullptr) {
    std::lock_guard lk(ch_.mu_);
    if (ch_.closed_) return false;
    request_ = id;
    ch_.cancel_stream_[id] = [close = ch_.open_streams_.at(*serial_), flag] {
      if (flag) *flag = true;
      close();
    };
    return true;
  }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
  bool admitted() const { return serial_.has_value(); }

 private:
  HttpChannel& ch_;
  bool answer_;
  std::optional<std::uint64_t> serial_;
  std::optional<std::int64_t> request_;
};

asio::awaitable<void> HttpChannel::post(json::object msg, bool renewed) {
  bool is_initialize =
      msg.contains("method") && msg.at("method") == "initialize" && msg.contains("id");
  bool is_request = msg.contains("method") && msg.contains("id");
  json::value id = msg.contains("id") ? msg.at("id") : json::value();
  // What the server sends on this request's stream belongs to this request.
  std::optional<std::int64_t> related;
  if (is_request && id.is_int64()) related = id.get_int64();
  auto fail_request = [&](const std::string& why) {
    if (is_request) deliver(protocol::make_error(id, {protocol::kUpstreamUnavailable, why}), {});
  };

  beast::tcp_stream stream(ex_);
  tcp::resolver resolver(ex_);
  auto [rec, results] = co_await resolver.async_resolve(target_.host, target_.port, kTuple);
  if (rec) {
    fail_request("cannot resolve " + target_.host + ": " + rec.message());
    co_return;
  }
  stream.expires_after(std::chrono::seconds(30));
  auto [cec, ep] = co_await stream.async_connect(results, kTuple);
  // Asio opens sockets without SOCK_CLOEXEC (the sandbox's child closes
  // strays too; this is the first wall).
  if (!cec) ::fcntl(stream.socket().native_handle(), F_SETFD, FD_CLOEXEC);
  if (cec) {
    fail_request(
        fmt::format("cannot connect to {}:{}: {}", target_.host, target_.port, cec.message()));
    if (is_initialize) fail("cannot connect: " + cec.message());
    co_return;
  }
  Tracked tracked(*this, stream, !is_request);
  if (!tracked.admitted()) {
    fail_request("the connection to the server was closed");
    co_return;
  }
  std::string path, sid, version;
  {
    std::lock_guard lk(mu_);
    path = post_path_;
    sid = session_id_;
    version = protocol_version_;
  }
  http::request<http::string_body> req{http::verb::post, path, 11};
  req.set(http::field::host, target_.host);
  req.set(http::field::user_agent, protocol::user_agent());
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json, text/event-stream");
  if (!sid.empty()) req.set("Mcp-Session-Id", sid);
  if (!version.empty()) req.set("MCP-Protocol-Version", version);
  // A Modern request names its version, method and target in headers too
  // (a Modern server refuses one whose headers are missing).
  auto modern = modern_http_headers(msg);
  for (auto& [k, v] : modern) req.set(k, v);
  if (!modern.empty() && is_request && opts_.param_headers) {
    // Annotated arguments go in Mcp-Param-* headers too (spec
    // streamable-http §Custom Headers), in the encoding the server decodes.
    auto mirrored = mirror_tool_params(msg, opts_.param_headers);
    if (!mirrored) {
      deliver(protocol::make_error(id, protocol::invalid_params(mirrored.reason())), {});
      co_return;
    }
    for (auto& [k, v] : mirrored.value()) req.set(k, v);
  }
  set_client_headers(req, opts_, renewed);
  req.body() = protocol::json_text(msg);
  req.prepare_payload();
  auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
  if (wec) {
    fail_request("write failed: " + wec.message());
    co_return;
  }
  // Until this coroutine ends, cancelling the request closes its stream.
  bool cancelled = false;
  if (related && !tracked.cancelled_by(*related, &cancelled))
    co_return;  // the channel's end answered it
  beast::flat_buffer buf;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  // A request's SSE answer may take long (its call timeout rules and
  // cancels it); an answer or notification of ours is taken at once.
  stream.expires_after(is_request ? std::chrono::seconds(std::chrono::hours(24))
                                  : std::chrono::seconds(30));
  auto [hec, hn] = co_await http::async_read_header(stream, buf, parser, kTuple);
  if (hec) {
    fail_request("no response: " + hec.message());
    co_return;
  }
  auto& res = parser.get();
  if (is_initialize) {
    auto s = res["Mcp-Session-Id"];
    std::lock_guard lk(mu_);
    session_id_ = std::string(s);
  }
  unsigned status = res.result_int();
  // Once the server has accepted notifications/initialized (202, the answer
  // every Streamable HTTP server gives a notification), open the standalone
  // stream for what it sends outside any request: list changes, resource
  // updates, log lines. (Opened only after a non-202 answer before, which a
  // notification never gets: no such message of a Legacy HTTP server ever
  // reached a client.)
  if (status / 100 == 2 && !opts_.legacy_sse && msg.contains("method") &&
      msg.at("method") == "notifications/initialized")
    open_standalone();
  if (status == 202) co_return;
  if (status == 401 && opts_.authorization && !renewed) {
    // The token expired or was revoked: renew it and send once more.
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_await post(std::move(msg), true);
    co_return;
  }
  if (status == 404 && !sid.empty()) {
    // The server does not know the session (it restarted): it did not run
    // the request, so the gateway may send it again on a new session.
    if (is_request)
      deliver(
          protocol::make_error(id, {protocol::kUpstreamUnavailable, "the upstream session expired",
                                    json::object{{kNotDelivered, true}}}),
          {});
    fail("the upstream session expired (404)");
    co_return;
  }
  std::string ctype(res[http::field::content_type]);
  if (ctype.starts_with("text/event-stream")) {
    SseParser sse(opts_.max_message_bytes);
    std::string last_event_id;
    bool answered = false;
    SseParser::OnEvent on_event = [&](const SseParser::Event& e) {
      if (!e.id.empty()) last_event_id = std::string(e.id);
      answered |= deliver_data(e.data, related, is_request ? &id : nullptr);
    };
    co_await read_sse(stream, buf, parser, sse, on_event);
    if (cancelled) co_return;  // the caller has stopped waiting
    if (is_request && !answered) {
      // The server ended the stream before answering (it may do so at any
      // time and expects the client to resume): resume it where it stopped.
      boost::system::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      std::string why = co_await resume(id, related, std::move(last_event_id), sse.retry_ms());
      if (!why.empty()) fail_request(why);
      co_return;
    }
  } else {
    std::string body;
    char chunk[8192];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      auto [ec, n] = co_await http::async_read(stream, buf, parser, kTuple);
      body.append(chunk, sizeof chunk - parser.get().body().size);
      if (body.size() > opts_.max_message_bytes) {
        fail_request("the upstream's answer exceeds the message size limit");
        co_return;
      }
      if (ec && ec != http::error::need_buffer) break;
    }
    if (status >= 400 && is_request && body.find("\"jsonrpc\"") == std::string::npos) {
      fail_request(fmt::format("upstream answered HTTP {}", status));
      co_return;
    }
    if (status >= 400 && is_request) {
      // A JSON-RPC error that does not name our request (servers answer
      // `"id": null` to a request refused at the HTTP level, e.g. a Legacy
      // server probed with server/discover) still answers it.
      auto parsed = protocol::parse_json(body);
      if (parsed && parsed->is_object()) {
        json::object& eo = parsed->get_object();
        auto* eid = eo.if_contains("id");
        if (eo.contains("error") && (!eid || eid->is_null())) {
          eo["id"] = id;
          deliver(std::move(eo), related);
          co_return;
        }
      }
    }
    deliver_data(body, related);
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

void HttpChannel::open_standalone() {
  {
    std::lock_guard lk(mu_);
    if (standalone_started_ || closed_) return;
    standalone_started_ = true;
  }
  asio::co_spawn(
      ex_, [self = shared_from_this()] { return self->get_stream(self->target_.path, false); },
      asio::detached);
}

asio::awaitable<std::string> HttpChannel::resume(json::value id,
                                                 std::optional<std::int64_t> related,
                                                 std::string last_event_id,
                                                 std::optional<std::uint64_t> retry_ms) {
  // Bounded: a server that keeps closing without ever answering costs a few
  // reconnections, not a call that hangs until its timeout.
  constexpr int kMaxResumes = 5;
  constexpr std::uint64_t kDefaultRetryMs = 200, kMaxRetryMs = 10000;
  for (int attempt = 0; attempt < kMaxResumes; ++attempt) {
    if (last_event_id.empty())
      co_return "the upstream closed the response stream before answering, without an event id "
                "to resume it from";
    {
      std::lock_guard lk(mu_);
      if (closed_) co_return "";  // the channel's end answers every call
    }
    // The server's `retry:` says when it will be ready again.
    asio::steady_timer t(
        ex_, std::chrono::milliseconds(std::min(retry_ms.value_or(kDefaultRetryMs), kMaxRetryMs)));
    co_await t.async_wait(kTuple);
    beast::tcp_stream stream(ex_);
    tcp::resolver resolver(ex_);
    auto [rec, results] = co_await resolver.async_resolve(target_.host, target_.port, kTuple);
    if (rec) continue;
    stream.expires_after(std::chrono::seconds(30));
    auto [cec, ep] = co_await stream.async_connect(results, kTuple);
    if (cec) continue;
    ::fcntl(stream.socket().native_handle(), F_SETFD, FD_CLOEXEC);
    // The channel's end and the call's cancellation close it, as they do
    // the POST it resumes.
    Tracked tracked(*this, stream, false);
    if (!tracked.admitted() || (related && !tracked.cancelled_by(*related))) co_return "";
    http::request<http::empty_body> req{http::verb::get, target_.path, 11};
    req.set(http::field::host, target_.host);
    req.set(http::field::user_agent, protocol::user_agent());
    req.set(http::field::accept, "text/event-stream");
    {
      std::lock_guard lk(mu_);
      if (!session_id_.empty()) req.set("Mcp-Session-Id", session_id_);
      if (!protocol_version_.empty()) req.set("MCP-Protocol-Version", protocol_version_);
    }
    req.set("Last-Event-ID", last_event_id);
    set_client_headers(req, opts_, false);
    auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
    if (wec) continue;
    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    stream.expires_after(std::chrono::hours(24));  // the call timeout rules
    auto [hec, hn] = co_await http::async_read_header(stream, buf, parser, kTuple);
    if (hec) continue;
    unsigned status = parser.get().result_int();
    if (status != 200 ||
        !std::string_view(parser.get()[http::field::content_type]).starts_with("text/event-stream"))
      co_return fmt::format(
          "the upstream closed the response stream before answering and refused to resume it "
          "(GET with Last-Event-ID answered HTTP {})",
          status);
    SseParser sse(opts_.max_message_bytes);
    bool answered = false;
    SseParser::OnEvent on_event = [&](const SseParser::Event& e) {
      if (!e.id.empty()) last_event_id = std::string(e.id);
      answered |= deliver_data(e.data, related, &id);
    };
    co_await read_sse(stream, buf, parser, sse, on_event);
    if (sse.retry_ms()) retry_ms = sse.retry_ms();
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (answered) co_return "";
  }
  co_return fmt::format(
      "the upstream closed the response stream before answering, {} times resumed", kMaxResumes);
}

asio::awaitable<void> HttpChannel::get_stream(std::string path, bool legacy) {
  std::string last_event_id;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    {
      std::lock_guard lk(mu_);
      if (closed_) co_return;
    }
    beast::tcp_stream stream(ex_);
    tcp::resolver resolver(ex_);
    auto [rec, results] = co_await resolver.async_resolve(target_.host, target_.port, kTuple);
    bool ok = !rec;
    if (ok) {
      auto [cec, ep] = co_await stream.async_connect(results, kTuple);
      ok = !cec;
      if (ok) ::fcntl(stream.socket().native_handle(), F_SETFD, FD_CLOEXEC);
    }
    // The channel's end closes this stream too (else it would hold the
    // connection, and the channel, until the server ends it).
    struct Registration {
      HttpChannel* ch;
      ~Registration() {
        std::lock_guard lk(ch->mu_);
        ch->cancel_standalone_ = nullptr;
      }
    } registration{this};
    if (ok) {
      std::lock_guard lk(mu_);
      if (closed_) co_return;
      cancel_standalone_ = [&stream] {
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.socket().close(ignored);
      };
    }
    if (!ok) {
      if (legacy) {
        fail("cannot open the SSE stream");
        co_return;
      }
    } else {
      http::request<http::empty_body> req{http::verb::get, path, 11};
      req.set(http::field::host, target_.host);
      req.set(http::field::user_agent, protocol::user_agent());
      req.set(http::field::accept, "text/event-stream");
      {
        std::lock_guard lk(mu_);
        if (!session_id_.empty()) req.set("Mcp-Session-Id", session_id_);
        if (!protocol_version_.empty()) req.set("MCP-Protocol-Version", protocol_version_);
      }
      if (!last_event_id.empty()) req.set("Last-Event-ID", last_event_id);
      set_client_headers(req, opts_, false);
      auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
      beast::flat_buffer buf;
      http::response_parser<http::buffer_body> parser;
      parser.body_limit(boost::none);
      auto [hec, hn] = co_await http::async_read_header(stream, buf, parser, kTuple);
      if (wec || hec) {
        if (legacy) {
          fail("the SSE stream failed");
          co_return;
        }
      } else if (parser.get().result_int() == 405 || parser.get().result_int() >= 400) {
        // No standalone stream offered: fine for Streamable HTTP.
        if (legacy)
          fail(fmt::format("the SSE endpoint answered HTTP {}", parser.get().result_int()));
        co_return;
      } else {
        SseParser sse(opts_.max_message_bytes);
        co_await read_sse(stream, buf, parser, sse, [&](const SseParser::Event& e) {
          if (!e.id.empty()) last_event_id = std::string(e.id);
          if (legacy && e.type == "endpoint") {
            std::lock_guard lk(mu_);
            // Relative or absolute URL of the POST endpoint.
            auto u = boost::urls::parse_uri_reference(e.data);
            if (u) {
              post_path_ = std::string(u->encoded_path());
              if (u->has_query()) post_path_ += "?" + std::string(u->encoded_query());
            }
            return;
          }
          deliver_data(e.data, std::nullopt);  // the standalone stream: no request
        });
      }
    }
    if (legacy) {
      fail("the SSE stream ended");
      co_return;
    }
    asio::steady_timer t(ex_, std::chrono::seconds(1));
    co_await t.async_wait(kTuple);
  }
}

}  // namespace bastion::gateway
