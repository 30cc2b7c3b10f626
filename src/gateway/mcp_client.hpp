// McpClient: the client side of MCP over a Channel — the initialize
// handshake, requests with our own ids correlated to responses (so many
// gateway sessions can share one upstream without id clashes), timeouts,
// cancellation, and callbacks for the upstream's notifications and its
// server-to-client requests.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "gateway/channel.hpp"
#include "gateway/era_wire.hpp"
#include "protocol/jsonrpc.hpp"

namespace bastion::gateway {

struct McpClientHandlers {
  // A notification from the upstream (progress, message, list_changed, ...).
  // `related`: the id of our request it came with, when the channel knows
  // (see Inbound).
  std::function<void(boost::json::object msg, std::optional<std::int64_t> related)> on_notification;
  // A request from the upstream (sampling, elicitation, roots; ping is
  // answered here). The result is sent back under the upstream's id.
  std::function<boost::asio::awaitable<protocol::Outcome>(
      std::string method, boost::json::object params, std::optional<std::int64_t> related)>
      on_request;
  // The channel ended (crash, EOF, close()). Called once, after every
  // waiter has failed and every relayed on_request has been cancelled.
  std::function<void(std::string reason)> on_closed;
  // A response to a request of ours that nobody waits for any more (it timed
  // out or was cancelled): the server has finished with it.
  std::function<void(std::int64_t id)> on_late_response;
};

// Thread-safe. Create with std::make_shared, then start().
class McpClient : public std::enable_shared_from_this<McpClient> {
 public:
  McpClient(boost::asio::any_io_executor ex, std::shared_ptr<Channel> channel,
            McpClientHandlers handlers);
  ~McpClient();

  void start();  // starts the read loop

  // Sends initialize, waits for the result, sends notifications/initialized.
  boost::asio::awaitable<protocol::Outcome> initialize(boost::json::object client_info,
                                                       boost::json::object capabilities,
                                                       std::chrono::milliseconds timeout);
  // The handshake for `era` (spec basic/versioning, backward compatibility):
  // kAuto probes with server/discover (bounded by `probe_timeout`) and falls
  // back to initialize on any answer that is not a Modern one; kModern
  // requires the probe to succeed; kLegacy only initializes. A Modern
  // upstream gets Bastion's `_meta` on every later request.
  boost::asio::awaitable<protocol::Outcome> open(boost::json::object client_info,
                                                 boost::json::object capabilities, UpstreamEra era,
                                                 std::chrono::milliseconds timeout,
                                                 std::chrono::milliseconds probe_timeout);
  // True once open() found a Modern-only server (stateless, per-request
  // `_meta`, no session). A dual-era server gets a Legacy session too, and
  // each request goes in its client's era.
  bool modern() const { return modern_; }
  // The Modern version the server speaks ("" for a Legacy-only server).
  const std::string& modern_version() const { return modern_version_; }

  // A request under a fresh id. `id_out` (optional) receives that id before
  // the request is sent, for cancellation and progress routing.
  boost::asio::awaitable<protocol::Outcome> request(std::string_view method,
                                                    boost::json::object params,
                                                    std::chrono::milliseconds timeout,
                                                    std::function<void(std::int64_t)> on_id = {});
  void notify(std::string_view method, boost::json::object params);
  // notifications/cancelled for a request of ours; its waiter resolves with
  // kRequestCancelled at once.
  void cancel(std::int64_t id, std::string reason);

  bool alive() const;
  void close(std::string reason);
  std::string close_reason() const;

  const boost::json::object& server_capabilities() const { return server_caps_; }
  const boost::json::object& server_info() const { return server_info_; }
  const std::string& protocol_version() const { return version_; }
  std::string instructions() const { return instructions_; }
  std::size_t in_flight() const;

 private:
  boost::asio::awaitable<void> read_loop();
  void fail_all(const std::string& reason);
  void on_upstream_request(boost::json::object msg, std::optional<std::int64_t> related);

  boost::asio::any_io_executor ex_;
  std::shared_ptr<Channel> channel_;
  McpClientHandlers handlers_;
  mutable std::mutex mu_;
  std::int64_t next_id_ = 1;
  // Our requests waiting for their response (with the result's text, for
  // the zero-copy relay).
  using ReplyBox = server::BasicMailbox<Inbound>;
  std::map<std::int64_t, std::shared_ptr<ReplyBox>> pending_;
  // The upstream's requests being relayed (on_request running), by a local
  // number: cancelled when the channel ends, so a relayed request dies with
  // its upstream instead of waiting for an answer nobody can take.
  std::uint64_t next_relay_ = 1;
  std::map<std::uint64_t, std::shared_ptr<boost::asio::cancellation_signal>> relayed_;
  bool alive_ = true;
  std::string reason_;
  boost::json::object server_caps_;
  boost::json::object server_info_;
  std::string version_;
  std::string instructions_;
  std::string modern_version_;       // set once by open()
  bool modern_ = false;              // set once by open(), before any other request
  boost::json::object client_info_;  // ours, for a Modern server's `_meta`
};

}  // namespace bastion::gateway
