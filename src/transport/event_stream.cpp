#include "transport/event_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bastion::transport {

namespace asio = boost::asio;

EventStream::EventStream(asio::any_io_executor ex, std::string id, std::size_t keep,
                         std::size_t keep_bytes)
    : id_(std::move(id)),
      keep_(keep),
      keep_bytes_(keep_bytes),
      strand_(asio::make_strand(ex)),
      timer_(strand_) {
  timer_.expires_at(asio::steady_timer::time_point::max());
}

std::uint64_t EventStream::append(std::string data) {
  std::uint64_t seq;
  {
    std::lock_guard lk(mu_);
    seq = next_seq_++;
    bytes_ += data.size();
    events_.push_back({seq, std::move(data)});
    while (events_.size() > 1 && (events_.size() > keep_ || bytes_ > keep_bytes_)) {
      bytes_ -= events_.front().data.size();
      events_.pop_front();
    }
  }
  wake();
  return seq;
}

void EventStream::finish() {
  {
    std::lock_guard lk(mu_);
    finished_ = true;
  }
  wake();
}

bool EventStream::finished() const {
  std::lock_guard lk(mu_);
  return finished_;
}

std::size_t EventStream::bytes() const {
  std::lock_guard lk(mu_);
  return bytes_;
}

void EventStream::wake() {
  asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
}

EventStream::Batch EventStream::collect(std::uint64_t after) const {
  Batch b;
  if (!events_.empty() && events_.front().seq > after + 1) b.gap = true;
  for (const auto& e : events_)
    if (e.seq > after) b.events.push_back(e);
  b.finished = finished_;
  return b;
}

asio::awaitable<EventStream::Batch> EventStream::wait_after(std::uint64_t after,
                                                            std::chrono::milliseconds timeout) {
  auto caller = co_await asio::this_coro::executor;
  co_await asio::dispatch(strand_, asio::use_awaitable);
  Batch b;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      b = collect(after);
    }
    if (!b.events.empty() || b.finished) break;
    if (std::chrono::steady_clock::now() >= deadline) break;
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) break;
    // One shared timer serves as both wake-up and timeout: a wake cancels it,
    // expiry means the timeout passed.
    timer_.expires_at(deadline);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_await asio::dispatch(caller, asio::use_awaitable);
  co_return b;
}

std::uint64_t EventStream::claim_writer() {
  std::lock_guard lk(mu_);
  return ++writer_;
}

bool EventStream::is_writer(std::uint64_t token) const {
  std::lock_guard lk(mu_);
  return writer_ == token;
}

}  // namespace bastion::transport
