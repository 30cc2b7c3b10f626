// Channel: a duplex JSON-RPC message pipe to one upstream MCP server —
// newline-delimited JSON over a child's stdin/stdout (FdChannel), or
// Streamable HTTP / legacy HTTP+SSE (HttpChannel). McpClient sits on top.
#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "protocol/param_headers.hpp"
#include "server/mailbox.hpp"
#include "transport/ndjson.hpp"

namespace bastion::gateway {

// The key an error's `data` carries, set by the channel or McpClient, when
// the request provably never ran: the upstream refused the session it was
// sent on (HTTP 404, the instance restarted), or the channel had closed
// before it was sent. Sending it again elsewhere is then safe; the gateway
// does so once and strips the key before a client could see it.
inline constexpr std::string_view kNotDelivered = "bastion/notDelivered";

// One message from the server, and which of our requests it came with: the
// id of the request whose response stream carried it (Streamable HTTP
// answers a POST with an SSE stream, and what the server sends there belongs
// to that request). Unset when the transport cannot tell: stdio, the
// standalone GET stream, legacy HTTP+SSE.
struct Inbound {
  Inbound(boost::json::object m, std::optional<std::int64_t> r = std::nullopt,  // NOLINT: implicit
          std::string result = {})
      : message(std::move(m)), related(r), result_text(std::move(result)) {}
  boost::json::object message;
  std::optional<std::int64_t> related;
  // A response's `result` as the server wrote it (result_text_of), for the
  // zero-copy relay; empty when unknown.
  std::string result_text;
};

// The text of `msg`'s `result` in `text`, the bytes parse_json() read `msg`
// from: for a response whose result is an object, when protocol::member_text
// locates it unambiguously; empty otherwise (the result is then rebuilt).
std::string result_text_of(const boost::json::object& msg, std::string_view text);

// Why a channel could not be opened or started, in words an operator can act
// on (the log, the upstream's last_error() and the client whose call needed it).
struct ChannelError {
  std::string reason;
};

class Channel {
 public:
  virtual ~Channel() = default;
  // Queues a message; false once the channel is closed. Thread-safe.
  virtual bool send(boost::json::object msg) = 0;
  // The next message from the server; nullopt when the channel ended (see
  // close_reason()). One reader at a time.
  virtual boost::asio::awaitable<std::optional<Inbound>> receive() = 0;
  virtual void close() = 0;
  virtual std::string close_reason() const = 0;
};

// A tool's x-mcp-header annotations by its name at the server (empty: none
// or unknown). Thread-safe; called from the channel's writer.
using ParamHeaderLookup = std::function<std::vector<protocol::ParamHeader>(std::string_view tool)>;

struct FdChannelOptions {
  std::size_t max_line_bytes = 16 * 1024 * 1024;  // a longer line ends the channel
};

// Newline-delimited JSON over two pipe fds (ownership is taken). Lines that
// are not JSON objects are skipped and counted (servers that print banners to
// stdout exist); an over-long line ends the channel: flooding is cut off.
class FdChannel : public Channel, public std::enable_shared_from_this<FdChannel> {
 public:
  FdChannel(boost::asio::any_io_executor ex, int write_fd, int read_fd, FdChannelOptions opts = {});
  ~FdChannel() override;
  // Starts the writer coroutine; call once before use.
  void start();

  bool send(boost::json::object msg) override;
  boost::asio::awaitable<std::optional<Inbound>> receive() override;
  void close() override;
  std::string close_reason() const override;
  std::size_t skipped_lines() const { return skipped_; }

 private:
  boost::asio::awaitable<void> writer();

  boost::asio::any_io_executor ex_;
  boost::asio::posix::stream_descriptor out_;  // child's stdin
  boost::asio::posix::stream_descriptor in_;   // child's stdout
  FdChannelOptions opts_;
  transport::LineReader lines_;
  std::array<char, 65536> chunk_;
  std::shared_ptr<server::Mailbox> queue_;
  std::size_t skipped_ = 0;
  mutable std::mutex mu_;
  std::string reason_;
  bool closed_ = false;
};

}  // namespace bastion::gateway
