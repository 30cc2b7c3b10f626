// Backlog: what a session holds for a client that has no stream to receive
// it (an HTTP session without a GET stream open): bounded by message count
// and by approximate bytes, oldest dropped first. One flood from an upstream
// reaches every session allowed to hear that server, so without a byte bound
// each of N idle sessions could pin megabytes.
#pragma once

#include <boost/container/deque.hpp>
#include <boost/json.hpp>
#include <cstddef>
#include <string_view>
#include <vector>

namespace bastion::server {

struct BacklogLimits {
  std::size_t messages = 256;      // entries held at most
  std::size_t bytes = 256 * 1024;  // approximate heap bytes held at most (approx_bytes)
};

// Roughly what `v` occupies on the heap: every node, key and string counted.
// Cheap (one walk, no serialization); used for bounds, not for accounting.
std::size_t approx_bytes(const boost::json::value& v);
std::size_t approx_bytes(const boost::json::object& o);

// Not thread-safe (the session guards it).
class Backlog {
 public:
  explicit Backlog(BacklogLimits limits = {}) : limits_(limits) {}

  // Appends `m`, then drops the oldest entries while either limit is
  // exceeded (a message larger than the byte limit on its own is dropped
  // too). Returns how many entries were dropped.
  std::size_t push(boost::json::object m);
  // Everything held, oldest first; the backlog is empty afterwards and its
  // memory released. Nothing is allocated for an empty backlog (every
  // Modern request's session has one and closes it unused).
  std::vector<boost::json::object> take();
  void clear() { take(); }

  std::size_t size() const { return q_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    boost::json::object message;
    std::size_t bytes;
  };
  BacklogLimits limits_;
  boost::container::deque<Entry> q_;  // allocates nothing until the first push
  std::size_t bytes_ = 0;
};

// bastion_notifications_dropped_total{reason} += n: "no_stream" (a backlog
// dropped its oldest), "queue_full" (a stream's queue refused one).
void count_dropped_notifications(std::string_view reason, std::size_t n);

}  // namespace bastion::server
