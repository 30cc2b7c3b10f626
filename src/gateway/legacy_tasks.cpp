#include "gateway/legacy_tasks.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>

#include "gateway/input_sink.hpp"

namespace bastion::gateway {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::Outcome;
using protocol::RpcError;

namespace {

// How often a waiting input request looks for the client's answer (the
// client polls tasks/get at the task's pollIntervalMs anyway).
constexpr std::chrono::milliseconds kAnswerTick{20};

// Built outside coroutines (GCC 12 and braced initializers with literals).
json::object input_request(const std::string& method, json::object params) {
  return json::object{{"method", method}, {"params", std::move(params)}};
}

RpcError cancelled_error() {
  return RpcError{protocol::kRequestCancelled, "the task was cancelled"};
}

}  // namespace

// One task's Legacy call; the upstream's requests during it come here.
class LegacyTasks::Worker : public InputSink, public std::enable_shared_from_this<Worker> {
 public:
  Worker(asio::any_io_executor ex, std::shared_ptr<server::Task> task,
         std::shared_ptr<server::RequestContext> ctx)
      : strand_(asio::make_strand(ex)), task_(std::move(task)), ctx_(std::move(ctx)) {}

  asio::awaitable<Outcome> ask(std::string method, json::object params) override {
    std::string key;
    {
      std::lock_guard lk(mu_);
      key = fmt::format("bastion-{}", ++asked_);
    }
    if (!task_->ask(key, input_request(method, std::move(params))))
      co_return task_->terminal()
          ? RpcError{protocol::kRequestCancelled, "the task has ended"}
          : RpcError{protocol::kInternalError, "too many input requests outstanding in this task"};
    struct Waiting {  // counts this request as outstanding while it waits
      Worker& w;
      explicit Waiting(Worker& w) : w(w) {
        std::lock_guard lk(w.mu_);
        ++w.waiting_;
      }
      ~Waiting() {
        std::lock_guard lk(w.mu_);
        --w.waiting_;
      }
    } counted(*this);
    asio::steady_timer tick(co_await asio::this_coro::executor);
    for (;;) {
      if (task_->cancel_requested() || task_->terminal()) co_return cancelled_error();
      if (std::optional<json::object> a = task_->take_answer(key)) co_return Outcome(std::move(*a));
      tick.expires_after(kAnswerTick);
      auto [ec] = co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return cancelled_error();  // the call itself was cancelled
    }
  }

  // No client request is open while a task runs: progress and log
  // notifications (which tasks do not carry, SEP-2663) go nowhere new.
  std::shared_ptr<server::RequestContext> current() const override { return nullptr; }
  bool waiting() const override {
    std::lock_guard lk(mu_);
    return waiting_ > 0;
  }

  // `keep` lives as long as the call.
  void run(std::shared_ptr<Upstream> u, json::object params, std::shared_ptr<void> keep) {
    std::weak_ptr<Worker> weak = weak_from_this();
    task_->on_cancel([weak] {
      auto self = weak.lock();
      if (!self) return;
      asio::post(self->strand_, [self] { self->cancel_.emit(asio::cancellation_type::terminal); });
    });
    auto self = shared_from_this();
    auto body = [self, u, params = std::move(params),
                 keep = std::move(keep)]() mutable -> asio::awaitable<void> {
      if (self->task_->cancel_requested()) {
        self->task_->cancel();
        co_return;
      }
      std::shared_ptr<InputSink> sink = self;  // named: no temporaries across co_await (GCC 12)
      Outcome o = co_await u->call("tools/call", std::move(params), *self->ctx_, sink);
      self->finish(std::move(o));
    };
    // Spawned from the strand, where the signal is emitted: its slot is
    // never connected and emitted on two threads at once.
    asio::post(strand_, [self, body = std::move(body)]() mutable {
      asio::co_spawn(self->strand_, std::move(body),
                     asio::bind_cancellation_slot(self->cancel_.slot(), asio::detached));
    });
  }

 private:
  void finish(Outcome o) {
    if (o.ok()) {
      // The call's result is the task's, as the server wrote it (a tool error
      // is a completed task with isError, SEP-2663).
      task_->complete(std::move(o.result()));
      return;
    }
    if (task_->cancel_requested()) {  // however the cancelled call ended
      task_->cancel();
      return;
    }
    spdlog::debug("gateway task {} of {} failed: {}", task_->id(), task_->tool(),
                  o.error().message);
    task_->fail(std::move(o.error()));
  }

  asio::strand<asio::any_io_executor> strand_;
  std::shared_ptr<server::Task> task_;
  std::shared_ptr<server::RequestContext> ctx_;
  asio::cancellation_signal cancel_;  // touched on strand_ only
  mutable std::mutex mu_;
  std::uint64_t asked_ = 0;
  std::size_t waiting_ = 0;
};

LegacyTasks::LegacyTasks(asio::any_io_executor ex, server::TaskLimits limits)
    : ex_(std::move(ex)), table_(limits) {}

LegacyTasks::~LegacyTasks() { shutdown(); }

Outcome LegacyTasks::start(std::shared_ptr<Upstream> u, const std::string& tool,
                           json::object params, server::RequestContext& ctx,
                           std::shared_ptr<void> keep) {
  auto t = table_.create(server::task_owner(ctx.caller()), tool);
  if (!t.ok()) {
    spdlog::info("gateway: refused a task of {}: {}", tool, t.error().message);
    return t.error();
  }
  std::shared_ptr<server::Task> task = t.value();
  auto w = std::make_shared<Worker>(ex_, task, ctx.shared_from_this());
  w->run(std::move(u), std::move(params), std::move(keep));
  return task->create_result();
}

std::optional<Outcome> LegacyTasks::handle(const std::string& owner, std::string_view method,
                                           const std::string& id, const json::object& params) {
  json::object p = params;
  p["taskId"] = id;
  return table_.handle(owner, method, p);
}

void LegacyTasks::shutdown() { table_.cancel_all(); }

}  // namespace bastion::gateway
