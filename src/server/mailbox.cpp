#include "server/mailbox.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bastion::server {

namespace asio = boost::asio;

asio::awaitable<std::optional<boost::json::object>> Mailbox::pop() {
  auto caller = co_await asio::this_coro::executor;
  // Checking and waiting happen in one strand turn, so a wake() posted after
  // the check always finds the timer waiting.
  co_await asio::dispatch(strand_, asio::use_awaitable);
  std::optional<boost::json::object> out;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (!q_.empty()) {
        out = std::move(q_.front().msg);
        q_.pop_front();
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
  co_await asio::dispatch(caller, asio::use_awaitable);
  co_return out;
}

}  // namespace bastion::server
