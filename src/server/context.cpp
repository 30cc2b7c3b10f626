#include "server/context.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/engine.hpp"
#include "server/mailbox.hpp"
#include "server/session.hpp"

namespace bastion::server {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr std::array<std::string_view, 8> kLevelNames = {
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
}

std::optional<LogLevel> parse_log_level(std::string_view s) {
  for (std::size_t i = 0; i < kLevelNames.size(); ++i)
    if (kLevelNames[i] == s) return static_cast<LogLevel>(i);
  return std::nullopt;
}

std::string_view to_string(LogLevel l) { return kLevelNames[static_cast<std::size_t>(l)]; }

RequestContext::RequestContext(std::shared_ptr<Session> session,
                               std::shared_ptr<const protocol::Principal> caller,
                               std::shared_ptr<Outbox> out, json::value id, std::string method,
                               json::value progress_token)
    : session_(std::move(session)),
      caller_(std::move(caller)),
      out_(std::move(out)),
      id_(std::move(id)),
      method_(std::move(method)),
      progress_token_(std::move(progress_token)) {}

RequestContext::~RequestContext() = default;

void RequestContext::set_call_target(std::string server, std::string target) {
  call_server_ = std::move(server);
  call_target_ = std::move(target);
}

const std::string& RequestContext::session_id() const { return session_->id(); }
std::string_view RequestContext::protocol_version() const {
  return modern_ ? std::string_view(modern_->protocol_version) : session_->protocol_version();
}
const json::object& RequestContext::client_capabilities() const {
  return modern_ ? modern_->client_capabilities : *session_->client_capabilities();
}

void RequestContext::progress(double progress, std::optional<double> total,
                              std::string_view message) {
  if (progress_token_.is_null()) return;
  json::object p;
  p["progressToken"] = progress_token_;
  // Whole numbers go out as integers ("50", not "5E1").
  auto num = [](double d) -> json::value {
    if (d == static_cast<double>(static_cast<std::int64_t>(d))) return static_cast<std::int64_t>(d);
    return d;
  };
  p["progress"] = num(progress);
  if (total) p["total"] = num(*total);
  if (!message.empty()) p["message"] = message;
  notify(protocol::make_notification("notifications/progress", std::move(p)));
}

bool RequestContext::wants_log(std::optional<LogLevel> level) const {
  if (modern_) {
    // Spec (2026-07-28 logging): no notifications/message for a request
    // that did not ask for them with a logLevel.
    auto wanted = parse_log_level(modern_->log_level);
    return wanted && (!level || *level >= *wanted);
  }
  return !level || *level >= session_->log_level();
}

void RequestContext::log(LogLevel level, std::string_view logger, json::value data) {
  if (!wants_log(level)) return;
  json::object p;
  p["level"] = to_string(level);
  if (!logger.empty()) p["logger"] = logger;
  p["data"] = std::move(data);
  notify(protocol::make_notification("notifications/message", std::move(p)));
}

void RequestContext::notify(json::object notification) {
  if (cancelled()) return;
  const auto* m = notification.if_contains("method");
  const std::string method = m && m->is_string() ? std::string(m->get_string()) : std::string();
  MessageContext mc{session_->id(), method, call_server_, call_target_};
  // A refused notification is not sent (the filter that refused it says why).
  if (!session_->engine().filters().run_outbound(notification, mc).ok()) return;
  // A full queue (the client reads slower than an upstream floods) drops
  // notifications, never the response (see BasicMailbox::push).
  Outgoing o(std::move(notification));
  if (out_->byte_capacity()) o.budgeted = approx_json_bytes(*o.message);
  if (!out_->push(std::move(o)) && !out_->closed()) count_dropped_notifications("queue_full", 1);
}

std::string RequestContext::cancel_reason() const { return cancel_reason_; }

void RequestContext::mark_cancelled(std::string reason) {
  cancel_reason_ = std::move(reason);
  cancelled_.store(true);
}

asio::awaitable<protocol::Outcome> RequestContext::client_request(std::string_view method,
                                                                  json::object params) {
  return client_request(method, std::move(params),
                        session_->engine().options().client_request_timeout);
}

asio::awaitable<protocol::Outcome> RequestContext::client_request(
    std::string_view method, json::object params, std::chrono::milliseconds timeout) {
  if (modern_)
    co_return protocol::RpcError{
        protocol::kInternalError,
        fmt::format("{} cannot be sent to a client speaking {}: server-to-client requests travel "
                    "in an InputRequiredResult",
                    method, modern_->protocol_version)};
  auto ex = co_await asio::this_coro::executor;
  json::value id;
  auto pending = session_->new_pending(id, ex);
  auto request = protocol::make_request(id, method, std::move(params));
  const std::string method_name(method);
  const MessageContext mc{session_->id(), method_name, call_server_, call_target_};
  Verdict sent = session_->engine().filters().run_outbound(request, mc);
  if (!sent.ok()) {  // refused: the asker gets the error as its answer
    session_->forget_pending(id);
    co_return std::move(*sent.error);
  }
  {
    std::lock_guard lk(open_mu_);
    open_client_requests_.push_back(id);
  }
  if (!out_->push(std::move(request))) {
    close_client_request(id);
    session_->forget_pending(id);
    co_return protocol::RpcError{protocol::kInternalError, "client stream is closed"};
  }
  asio::steady_timer timer(ex, timeout);
  auto r =
      co_await (pending->reply->pop() || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  session_->forget_pending(id);
  bool was_open = close_client_request(id);
  auto cs = co_await asio::this_coro::cancellation_state;
  if (cs.cancelled() != asio::cancellation_type::none) {
    // Whoever asked gave up (an upstream that exited, a relay torn down): the
    // client stops working on it, and its late answer finds nothing pending.
    if (was_open)
      out_->push(protocol::make_notification(
          "notifications/cancelled",
          json::object{{"requestId", id}, {"reason", "the request's sender went away"}}));
    co_return protocol::RpcError{protocol::kRequestCancelled, "request cancelled"};
  }
  if (r.index() == 0) {
    auto& reply = std::get<0>(r);
    if (!reply) co_return protocol::RpcError{protocol::kRequestCancelled, "request cancelled"};
    Verdict answer = session_->engine().filters().run_client_answer(*reply, mc);
    if (!answer.ok()) co_return std::move(*answer.error);
    if (auto* res = reply->if_contains("result"); res && res->is_object())
      co_return protocol::Outcome(res->get_object());
    if (auto* err = reply->if_contains("error"); err && err->is_object()) {
      protocol::RpcError e;
      const auto& eo = err->get_object();
      if (auto* c = eo.if_contains("code"); c && c->is_int64())
        e.code = static_cast<int>(c->get_int64());
      if (auto* m = eo.if_contains("message"); m && m->is_string()) e.message = m->get_string();
      if (auto* d = eo.if_contains("data")) e.data = *d;
      co_return e;
    }
    co_return protocol::RpcError{protocol::kInternalError, "malformed response from client"};
  }
  if (cancelled()) co_return protocol::RpcError{protocol::kRequestCancelled, "request cancelled"};
  co_return protocol::RpcError{
      protocol::kRequestTimeout,
      fmt::format("client did not answer {} within {} ms", method, timeout.count())};
}

bool RequestContext::close_client_request(const json::value& id) {
  std::lock_guard lk(open_mu_);
  auto it = std::find(open_client_requests_.begin(), open_client_requests_.end(), id);
  if (it == open_client_requests_.end()) return false;
  open_client_requests_.erase(it);
  return true;
}

void RequestContext::withdraw_client_requests(std::string_view reason) {
  std::vector<json::value> open;
  {
    std::lock_guard lk(open_mu_);
    open.swap(open_client_requests_);
  }
  for (auto& id : open) {
    out_->push(protocol::make_notification("notifications/cancelled",
                                           json::object{{"requestId", id}, {"reason", reason}}));
    session_->cancel_pending(id);  // its asker wakes with kRequestCancelled
  }
}

}  // namespace bastion::server
