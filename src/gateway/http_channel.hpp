// HttpChannel: MCP to a remote upstream over HTTP — Streamable HTTP (POST
// with JSON or SSE answers, Mcp-Session-Id, a standalone GET stream) or the
// legacy HTTP+SSE transport (GET /sse announces a POST endpoint, answers
// arrive on the SSE stream). Plain http:// only (TLS: put Bastion next to
// the server or behind a local proxy).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>

#include "gateway/channel.hpp"
#include "protocol/expected.hpp"

namespace bastion::gateway {

struct HttpChannelOptions {
  std::string url;                             // http://host:port/path
  bool legacy_sse = false;                     // the 2024-11-05 HTTP+SSE transport
  std::map<std::string, std::string> headers;  // e.g. Authorization
  std::size_t max_message_bytes = 16 * 1024 * 1024;
  // The Authorization value for each request (e.g. a client-credentials
  // token kept fresh); called with renew=true after the remote answered
  // 401, and the request is then sent once more. May block; empty = none.
  std::function<std::string(bool renew)> authorization;
  // The annotations of a tool of this server (empty: none mirrored).
  ParamHeaderLookup param_headers;
};

class HttpChannel : public Channel, public std::enable_shared_from_this<HttpChannel> {
 public:
  HttpChannel(boost::asio::any_io_executor ex, HttpChannelOptions opts);
  ~HttpChannel() override;
  // Parses the URL and (legacy mode) opens the SSE stream; an unusable URL
  // is an error value (nothing is started then).
  protocol::Expected<std::monostate, ChannelError> start();

  bool send(boost::json::object msg) override;
  boost::asio::awaitable<std::optional<Inbound>> receive() override;
  void close() override;
  std::string close_reason() const override;

  struct Target {
    std::string host, port, path;
  };

 private:
  boost::asio::awaitable<void> writer();
  boost::asio::awaitable<void> post(boost::json::object msg, bool renewed = false);
  boost::asio::awaitable<void> get_stream(std::string path, bool legacy);
  // Starts the standalone GET stream (Streamable HTTP), once per channel.
  void open_standalone();
  // Resumes the response stream of request `id` that the server closed
  // before answering: GET with Last-Event-ID, after the server's `retry:`
  // delay, a bounded number of times. Empty when the answer came (or the
  // channel closed); else why the call fails.
  boost::asio::awaitable<std::string> resume(boost::json::value id,
                                             std::optional<std::int64_t> related,
                                             std::string last_event_id,
                                             std::optional<std::uint64_t> retry_ms);
  void fail(std::string reason);
  // Queues what arrived; `related`: the id of the request whose POST
  // stream carried it. True when it held the response to `*answer_to`.
  bool deliver_data(std::string_view data, std::optional<std::int64_t> related,
                    const boost::json::value* answer_to = nullptr);
  void deliver(boost::json::object msg, std::optional<std::int64_t> related,
               std::string result_text = {});

  boost::asio::any_io_executor ex_;
  HttpChannelOptions opts_;
  Target target_;
  std::shared_ptr<server::Mailbox> out_;                  // messages to POST
  std::shared_ptr<server::BasicMailbox<Inbound>> inbox_;  // messages from the server
  mutable std::mutex mu_;
  std::string session_id_;
  std::string protocol_version_;
  std::string post_path_;  // legacy: the announced endpoint
  bool standalone_started_ = false;
  // Closes the standalone (GET) stream's connection while one is open.
  std::function<void()> cancel_standalone_;
  bool closed_ = false;
  // Closes the response stream of our request in flight, by its id: how
  // Streamable HTTP cancels a request (spec 2026-07-28 cancellation: the
  // server treats the disconnect as cancellation), and what the channel's end
  // does to every one of them (a listen's stream would otherwise stay open).
  // Run on ex_ only (the upstream's strand), which the streams live on.
  std::map<std::int64_t, std::function<void()>> cancel_stream_;  // under mu_
  void cancel_streams(std::optional<std::int64_t> id);
  // Every POST and resumed stream in flight, by a serial: fail() closes
  // them all (the cancellation above reaches only requests). `answers`
  // counts the POSTs that carry no request (our answers to the server's
  // requests, notifications), which a server must take at once (202): a
  // server that leaves more than kMaxOpenAnswers of them waiting (a ping
  // flood it never takes the answers of) fails the channel instead of
  // holding a connection each.
  static constexpr std::size_t kMaxOpenAnswers = 64;
  std::map<std::uint64_t, std::function<void()>> open_streams_;  // under mu_
  std::uint64_t next_stream_ = 0;                                // under mu_
  std::size_t open_answers_ = 0;                                 // under mu_
  class Tracked;
  std::string reason_;
};

// Exposed for tests: "http://h:p/x" → {h, p, /x}; other schemes and
// malformed URLs are an error naming the URL.
protocol::Expected<HttpChannel::Target, ChannelError> parse_http_url(const std::string& url);

}  // namespace bastion::gateway
