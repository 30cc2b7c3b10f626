// SSE streaming for the MCP endpoint: each session's resumable streams (one
// per POST answered as a stream, plus the standalone GET stream), the pump
// that moves an outbox into a stream, and the writer that sends a stream as
// an SSE response from any event on (Last-Event-ID resumption).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/outbox.hpp"
#include "transport/event_stream.hpp"
#include "transport/http_connection.hpp"

namespace bastion::transport {

// The streams of one MCP session. Thread-safe.
class SessionStreams {
 public:
  static constexpr std::size_t kMaxStreams = 64;  // older ones are forgotten
  // The bytes its streams keep for resumption, in all: beyond it the oldest
  // finished streams are forgotten first (never the newest nor the
  // standalone one), so a client cannot pin 64 full streams per session.
  static constexpr std::size_t kMaxBytes = 4 * 1024 * 1024;

  explicit SessionStreams(std::size_t max_bytes = kMaxBytes) : max_bytes_(max_bytes) {}

  // A new numbered stream; beyond kMaxStreams the oldest (never the
  // standalone one) can no longer be resumed.
  std::shared_ptr<EventStream> create(boost::asio::any_io_executor ex);
  std::shared_ptr<EventStream> find(const std::string& id) const;
  // Forgets the oldest finished streams while all keep more than max_bytes
  // (create() does, and pump() when a stream finishes).
  void trim();
  // Bytes of the events its streams keep.
  std::size_t bytes() const;

  // The standalone stream (server-initiated messages): one live GET at a
  // time, so nothing is delivered twice. Claims it, creating it on first use
  // (`created` tells the caller to start its pump); nullptr while another
  // connection holds it.
  std::shared_ptr<EventStream> claim_standalone(boost::asio::any_io_executor ex, bool& created,
                                                std::uint64_t& delivered);
  // The holding connection is gone; `delivered` is the last event it wrote.
  void release_standalone(std::uint64_t delivered);

 private:
  void trim_locked();
  std::size_t bytes_locked() const;

  const std::size_t max_bytes_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<EventStream>> streams_;
  std::deque<std::string> order_;  // creation order, for pruning
  std::uint64_t next_ = 1;
  std::shared_ptr<EventStream> standalone_;
  bool standalone_held_ = false;
  std::uint64_t standalone_delivered_ = 0;
};

// Every session's streams, by session id. Entries are dropped when the
// engine reports the session closed. Thread-safe.
class StreamTable {
 public:
  // The session's streams, created on first use. `closed` is the session's
  // state after the entry exists: a session that closed meanwhile leaves no
  // entry behind (its close notice may have come before the insert).
  std::shared_ptr<SessionStreams> get(const std::string& session_id,
                                      const std::function<bool()>& closed);
  std::shared_ptr<SessionStreams> find(const std::string& session_id) const;
  void drop(const std::string& session_id);
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<SessionStreams>> sessions_;
};

// Moves `out` into `es` until `requests` requests have ended (nullopt: until
// the outbox closes), then finishes the stream, closes the outbox and trims
// `owner` (the session's streams, when still alive).
void pump(std::shared_ptr<server::Outbox> out, std::shared_ptr<EventStream> es,
          std::optional<std::size_t> requests, boost::asio::any_io_executor ex,
          std::weak_ptr<SessionStreams> owner = {});

// "<stream id>-<seq>" back into its parts; nullopt when malformed.
std::optional<std::pair<std::string, std::uint64_t>> parse_event_id(std::string_view id);
// The wire text of `events` of `es`: "id: ...\nevent: message\ndata: ...\n\n" each.
std::string format_events(const EventStream& es, const std::vector<EventStream::Event>& events);

struct SseResponse {
  std::string session_id;        // set on the response that creates a session
  std::string protocol_version;  // 2025-11-25 and later get a priming event
  std::string cors_origin;       // granted Origin, or empty
  std::chrono::milliseconds keepalive{15000};
  std::chrono::milliseconds retry{1000};
};

// Writes `es` from event `after` on as an SSE response until it finishes,
// the peer goes away, the server stops, or another writer takes the stream
// over. `*last` follows the last event written. True when the connection
// may serve another request.
boost::asio::awaitable<bool> write_sse(HttpConnection& conn, const Request& req,
                                       std::shared_ptr<EventStream> es, std::uint64_t* last,
                                       SseResponse head);

}  // namespace bastion::transport
