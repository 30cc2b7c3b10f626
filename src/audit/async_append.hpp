// AuditLog::append_async as an Asio operation: `co_await async_append(log,
// event, asio::use_awaitable)` suspends the calling coroutine (its I/O
// thread serves other calls meanwhile) until the log's writer thread has
// written the record, with the records queued beside it, in one write(2).
// The result is the record's seq, or 0 when it could not be written (then
// log.available() is false).
//
// The completion handler runs on its own associated executor (the
// coroutine's, a strand's), never on the writer thread; that executor's
// context counts the append as outstanding work until then.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "audit/log.hpp"

namespace bastion::audit {

namespace detail {

template <class Handler, class Executor>
class PostedCompletion final : public AuditLog::Completion {
 public:
  PostedCompletion(Handler h, Executor ex) : handler_(std::move(h)), ex_(std::move(ex)) {}
  const void* context() const override {
    return &boost::asio::query(ex_, boost::asio::execution::context);
  }
  void post_all(std::vector<std::unique_ptr<AuditLog::Completion>> all) override {
    boost::asio::post(ex_, [all = std::move(all)]() mutable {
      for (auto& c : all) c->invoke();
    });
  }
  void post_flush(std::function<void()> fn) override { boost::asio::post(ex_, std::move(fn)); }
  void invoke() override {
    // Inline when the handler's executor is the context's own; a strand
    // queues it.
    boost::asio::dispatch(ex_, [h = std::move(handler_), s = seq]() mutable { std::move(h)(s); });
  }

 private:
  Handler handler_;
  Executor ex_;  // tracked: keeps the handler's context running until it is posted
};

}  // namespace detail

namespace detail {

// Starts `append(payload, completion)` as an Asio operation whose handler
// runs on its associated executor.
template <class Token, class Payload, class Append>
auto async_append_with(Token&& token, Payload payload, Append append) {
  return boost::asio::async_initiate<Token, void(std::uint64_t)>(
      [append](auto handler, Payload p) {
        using Handler = decltype(handler);
        auto ex = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                      boost::asio::execution::outstanding_work.tracked);
        append(std::move(p), std::make_unique<PostedCompletion<Handler, decltype(ex)>>(
                                 std::move(handler), std::move(ex)));
      },
      token, std::move(payload));
}

}  // namespace detail

// Signature void(std::uint64_t seq). Never fails for I/O: 0 is the error.
template <class Token>
auto async_append(AuditLog& log, boost::json::object event, Token&& token) {
  return detail::async_append_with(
      std::forward<Token>(token), std::move(event),
      [&log](boost::json::object e, std::unique_ptr<AuditLog::Completion> done) {
        log.append_async(std::move(e), std::move(done));
      });
}

// The same for an event already written as text (AuditLog::append_text).
template <class Token>
auto async_append_text(AuditLog& log, std::string body, Token&& token) {
  return detail::async_append_with(
      std::forward<Token>(token), std::move(body),
      [&log](std::string b, std::unique_ptr<AuditLog::Completion> done) {
        log.append_text_async(std::move(b), std::move(done));
      });
}

}  // namespace bastion::audit
