// Runs one asynchronous exchange on a private io_context under a deadline:
// how the small outbound HTTP clients (token_client, login/http_client)
// bound all of a call (resolve, connect, handshake, write, read), since
// Beast's timeouts do not apply to synchronous calls.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "auth/result.hpp"

namespace bastion::auth {

// Runs `task` on `ioc` until it finishes or `timeout` has passed. When time
// is up, `cancel` is called (it closes the sockets the task uses) and the
// handlers get a moment to unwind; the answer is then nullopt. An exception
// thrown by the task becomes an error.
template <class T, class Cancel>
std::optional<Result<T>> run_with_deadline(boost::asio::io_context& ioc,
                                           boost::asio::awaitable<Result<T>> task,
                                           std::chrono::milliseconds timeout, Cancel&& cancel) {
  std::optional<Result<T>> out;
  auto run = [&out](boost::asio::awaitable<Result<T>> t) -> boost::asio::awaitable<void> {
    out = co_await std::move(t);
  };
  boost::asio::co_spawn(ioc, run(std::move(task)), [&out](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      out = Result<T>(fail(ex.what()));
    }
  });
  ioc.run_for(timeout);
  if (out) return out;
  cancel();
  ioc.restart();
  ioc.run_for(std::chrono::seconds(1));
  return std::nullopt;
}

}  // namespace bastion::auth
