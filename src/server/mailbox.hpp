// A multi-producer, single-consumer queue whose consumer is a coroutine.
// Producers may run on any thread; the consumer runs on the executor given at
// construction. `Mailbox` carries plain JSON-RPC messages (channels to
// upstreams, replies to server-to-client requests); `Outbox` (outbox.hpp)
// carries what a session sends toward a client.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/container/devector.hpp>
#include <boost/json.hpp>
#include <memory>
#include <mutex>
#include <optional>

namespace bastion::server {

// Marks an io_context that exactly one thread runs for its whole life
// (transport/io_workers: a connection's worker loop). Its executor already
// runs one handler at a time, so a mailbox on it needs no strand of its own.
class OneThreadLoop : public boost::asio::execution_context::service {
 public:
  using key_type = OneThreadLoop;
  static inline boost::asio::execution_context::id id;
  explicit OneThreadLoop(boost::asio::execution_context& ctx) : service(ctx) {}

 private:
  void shutdown() override {}
};

// Thread-safe: push()/close() from any thread; pop() from one coroutine at a time.
template <class T>
class BasicMailbox : public std::enable_shared_from_this<BasicMailbox<T>> {
 public:
  // `ex` is used as is when it already runs one handler at a time (the
  // common case: an HTTP connection's worker loop, or a strand), which saves
  // a strand and a hop per message.
  // `byte_capacity` (0: none) bounds the bytes of the queued entries that
  // carry a size (an `Outgoing`'s `budgeted`: notifications of a Modern
  // request, whose stream drains only as fast as its client reads).
  explicit BasicMailbox(boost::asio::any_io_executor ex, std::size_t capacity = 10000,
                        std::size_t byte_capacity = 0)
      : strand_(serial(ex)), timer_(strand_), capacity_(capacity), byte_capacity_(byte_capacity) {
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
  }

  // Returns false when closed or full (the entry is dropped; the caller
  // decides whether that is an error). An entry that ends a request (an
  // `Outgoing` with ends_request) is taken even when full: the capacities
  // bound what floods in beside responses, never the responses themselves
  // (at most one per request in flight). An entry larger than the byte
  // capacity is taken when no other sized entry is queued.
  bool push(T item) {
    {
      std::lock_guard lk(mu_);
      if (closed_) return false;
      const std::size_t b = budgeted_bytes(item);
      if (!ends_request(item) &&
          (q_.size() >= capacity_ || (byte_capacity_ && bytes_ && bytes_ + b > byte_capacity_)))
        return false;
      bytes_ += b;
      q_.push_back(std::move(item));
    }
    wake();
    return true;
  }

  std::size_t byte_capacity() const { return byte_capacity_; }

  // No more entries: pop() drains what is queued, then yields nullopt.
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

  // Waits for the next entry; nullopt once closed and drained, or when the
  // waiting coroutine is cancelled.
  boost::asio::awaitable<std::optional<T>> pop();

  // Non-blocking variant.
  std::optional<T> try_pop() {
    std::lock_guard lk(mu_);
    if (q_.empty()) return std::nullopt;
    return take_front();
  }

 private:
  static boost::asio::any_io_executor serial(const boost::asio::any_io_executor& ex) {
    using IoStrand = boost::asio::strand<boost::asio::io_context::executor_type>;
    if (ex.target<IoStrand>() || ex.target<boost::asio::strand<boost::asio::any_io_executor>>())
      return ex;
    if (const auto* loop = ex.target<boost::asio::io_context::executor_type>();
        loop && boost::asio::has_service<OneThreadLoop>(loop->context()))
      return ex;
    return boost::asio::make_strand(ex);
  }

  static bool ends_request(const T& item) {
    if constexpr (requires { item.ends_request; })
      return item.ends_request;
    else
      return false;
  }
  static std::size_t budgeted_bytes(const T& item) {
    if constexpr (requires { item.budgeted; })
      return item.budgeted;
    else
      return 0;
  }
  // The first entry, out of the queue and the byte count (mu_ held, q_ not empty).
  std::optional<T> take_front() {
    std::optional<T> out(std::move(q_.front()));
    q_.pop_front();
    bytes_ -= budgeted_bytes(*out);
    return out;
  }

  void wake() {
    boost::asio::post(strand_, [self = this->shared_from_this()] { self->timer_.cancel(); });
  }

  mutable std::mutex mu_;
  // A devector, not a std::deque: a mailbox is made for every POST and most
  // carry one entry, which a deque's map and first block (two allocations
  // at construction) would hold. It allocates on the first push, and its
  // freed front is reused rather than grown past.
  boost::container::devector<T> q_;
  bool closed_ = false;
  boost::asio::any_io_executor strand_;  // one handler at a time (see serial())
  boost::asio::steady_timer timer_;
  std::size_t capacity_;
  std::size_t byte_capacity_;
  std::size_t bytes_ = 0;  // of the queued entries' budgeted sizes
};

template <class T>
boost::asio::awaitable<std::optional<T>> BasicMailbox<T>::pop() {
  namespace asio = boost::asio;
  // An entry already queued is taken without leaving the caller's executor.
  // Hopping to the strand and back completes inline when the caller already
  // runs there, and each inline completion nests the next pop() one level
  // deeper: a consumer draining thousands of queued entries (an upstream's
  // flood toward one request) overflowed the stack.
  {
    std::lock_guard lk(mu_);
    if (!q_.empty()) co_return take_front();
  }
  auto caller = co_await asio::this_coro::executor;
  // Checking and waiting happen in one strand turn, so a wake() posted after
  // the check always finds the timer waiting. A caller whose executor is the
  // mailbox's own (an HTTP connection's worker loop: every POST's outbox)
  // runs there already: no hop there and back, each an operation of its own.
  const bool hop = caller != strand_;
  if (hop) co_await asio::dispatch(strand_, asio::use_awaitable);
  std::optional<T> out;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (!q_.empty()) {
        out = take_front();
        break;
      }
      if (closed_) break;
    }
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) break;
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) break;
  }
  if (hop) co_await asio::dispatch(caller, asio::use_awaitable);
  co_return out;
}

using Mailbox = BasicMailbox<boost::json::object>;
extern template class BasicMailbox<boost::json::object>;

}  // namespace bastion::server
