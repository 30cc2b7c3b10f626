// EventStream: one SSE stream's numbered events, kept (bounded by count and
// by bytes; the newest is always kept) after they are written so a client
// that lost the connection can resume with Last-Event-ID. A pump fills it from a Mailbox; any number of writers in
// turn read from it, so a dropped connection loses nothing.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace bastion::transport {

// Thread-safe.
class EventStream : public std::enable_shared_from_this<EventStream> {
 public:
  struct Event {
    std::uint64_t seq;
    std::string data;  // serialized JSON-RPC message
  };

  static constexpr std::size_t kKeepBytes = 1024 * 1024;
  EventStream(boost::asio::any_io_executor ex, std::string id, std::size_t keep = 1024,
              std::size_t keep_bytes = kKeepBytes);

  const std::string& id() const { return id_; }
  // Event ids are "<stream id>-<seq>"; seq starts at 1.
  std::string event_id(std::uint64_t seq) const { return id_ + "-" + std::to_string(seq); }

  std::uint64_t append(std::string data);
  void finish();
  bool finished() const;
  // Bytes of the events it keeps.
  std::size_t bytes() const;

  // Events with seq > after. `gap` is set when some were already discarded.
  // Waits until there is at least one, the stream finishes, or `timeout`.
  struct Batch {
    std::vector<Event> events;
    bool finished = false;
    bool gap = false;
  };
  boost::asio::awaitable<Batch> wait_after(std::uint64_t after, std::chrono::milliseconds timeout);

  // One writer at a time: a new writer (a resumed GET) takes over.
  std::uint64_t claim_writer();
  bool is_writer(std::uint64_t token) const;

 private:
  Batch collect(std::uint64_t after) const;
  void wake();

  std::string id_;
  std::size_t keep_;
  std::size_t keep_bytes_;
  std::size_t bytes_ = 0;  // of the data in events_
  mutable std::mutex mu_;
  std::deque<Event> events_;
  std::uint64_t next_seq_ = 1;
  bool finished_ = false;
  std::uint64_t writer_ = 0;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  boost::asio::steady_timer timer_;
};

}  // namespace bastion::transport
