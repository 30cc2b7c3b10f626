// A multi-producer, single-consumer queue of JSON-RPC messages whose consumer
// is a coroutine. Producers may run on any thread; the consumer runs on the
// executor given at construction. Used for every stream toward a client.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>
#include <deque>
#include <mutex>
#include <optional>

namespace bastion::server {

// Thread-safe: push()/close() from any thread; pop() from one coroutine at a time.
class Mailbox : public std::enable_shared_from_this<Mailbox> {
 public:
  struct Item {
    boost::json::object msg;
    bool final = false;  // marks the end of a stream (no msg)
  };

  // `ex` is used as is when it already is a strand (the common case: an HTTP
  // connection's executor), which saves a hop per message.
  explicit Mailbox(boost::asio::any_io_executor ex, std::size_t capacity = 10000)
      : strand_(serial(ex)), timer_(strand_), capacity_(capacity) {
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
  }

  // Returns false when closed or full (the message is dropped; the caller
  // decides whether that is an error).
  bool push(boost::json::object msg) {
    {
      std::lock_guard lk(mu_);
      if (closed_ || q_.size() >= capacity_) return false;
      q_.push_back({std::move(msg)});
    }
    wake();
    return true;
  }

  // No more messages: pop() drains what is queued, then yields nullopt.
  void close() {
    {
      std::lock_guard lk(mu_);
      if (closed_) return;
      closed_ = true;
    }
    wake();
  }

  bool closed() const {
    std::lock_guard lk(mu_);
    return closed_;
  }

  // Waits for the next message; nullopt once closed and drained, or when the
  // waiting coroutine is cancelled.
  boost::asio::awaitable<std::optional<boost::json::object>> pop();

  // Non-blocking variant.
  std::optional<boost::json::object> try_pop() {
    std::lock_guard lk(mu_);
    if (q_.empty()) return std::nullopt;
    auto m = std::move(q_.front().msg);
    q_.pop_front();
    return m;
  }

 private:
  static boost::asio::any_io_executor serial(const boost::asio::any_io_executor& ex) {
    using IoStrand = boost::asio::strand<boost::asio::io_context::executor_type>;
    if (ex.target<IoStrand>() || ex.target<boost::asio::strand<boost::asio::any_io_executor>>())
      return ex;
    return boost::asio::make_strand(ex);
  }

  void wake() {
    boost::asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
  }

  mutable std::mutex mu_;
  std::deque<Item> q_;
  bool closed_ = false;
  boost::asio::any_io_executor strand_;  // always a strand (see serial())
  boost::asio::steady_timer timer_;
  std::size_t capacity_;
};

}  // namespace bastion::server
