#include "server/session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <cassert>
#include <charconv>
#include <map>

#include "metrics/metrics.hpp"
#include "protocol/era.hpp"
#include "protocol/log_fields.hpp"
#include "protocol/version.hpp"
#include "server/engine.hpp"

namespace bastion::server {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::Message;
using protocol::MessageKind;

namespace {

// Known methods are labelled by name; anything else shares one label, so a
// client cannot grow the metric set without bound. A label's series are
// found on its first request and kept (later ones record into them without
// a lookup or a lock); series of methods never called are never made.
class MethodSeries {
 public:
  explicit MethodSeries(std::string_view method)
      : labels_(fmt::format("method=\"{}\"", method)),
        ok_labels_(labels_ + ",outcome=\"ok\""),
        error_labels_(labels_ + ",outcome=\"error\"") {}
  void record(bool ok, double seconds) {
    auto& m = metrics::Metrics::global();
    auto& labels = ok ? ok_labels_ : error_labels_;
    metrics::kept(ok ? ok_ : error_, [&] {
      return &m.counter("bastion_mcp_requests_total", labels);
    }).add();
    metrics::kept(duration_, [&] {
      return &m.histogram("bastion_mcp_request_duration_seconds", labels_);
    }).observe(seconds);
  }

 private:
  const std::string labels_, ok_labels_, error_labels_;
  std::atomic<metrics::Metrics::Counter*> ok_{nullptr}, error_{nullptr};
  std::atomic<metrics::Metrics::Histogram*> duration_{nullptr};
};

MethodSeries& method_series(std::string_view method) {
  static constexpr std::array<std::string_view, 16> kKnown = {"initialize",
                                                              "ping",
                                                              "logging/setLevel",
                                                              "tools/list",
                                                              "tools/call",
                                                              "resources/list",
                                                              "resources/templates/list",
                                                              "resources/read",
                                                              "resources/subscribe",
                                                              "resources/unsubscribe",
                                                              "prompts/list",
                                                              "prompts/get",
                                                              "completion/complete",
                                                              "server/discover",
                                                              "subscriptions/listen",
                                                              "other"};
  static auto* kSeries = [] {
    auto* t = new std::map<std::string_view, MethodSeries, std::less<>>;
    for (auto name : kKnown)
      t->emplace(std::piecewise_construct, std::forward_as_tuple(name),
                 std::forward_as_tuple(name));
    return t;
  }();
  auto it = kSeries->find(method);
  return it != kSeries->end() ? it->second : kSeries->find("other")->second;
}

void record_request(const std::string& method, const protocol::Outcome& o,
                    std::chrono::steady_clock::duration d) {
  method_series(method).record(o.ok(), std::chrono::duration<double>(d).count());
}

std::int64_t now_ns() { return std::chrono::steady_clock::now().time_since_epoch().count(); }
}  // namespace

Session::Session(Engine& engine, std::string id, protocol::Principal principal)
    : engine_(engine),
      id_(std::move(id)),
      owner_(std::move(principal)),
      last_activity_ns_(now_ns()),
      client_caps_(std::make_shared<const json::object>()),
      standalone_backlog_(engine.options().standalone_backlog) {}

Session::~Session() = default;

std::string Session::id_key(const json::value& id) {
  // Strings and numbers with the same text are different ids.
  if (id.is_string()) return "s" + std::string(id.get_string());
  // An integer (nearly every id) as json::serialize writes it, without a
  // serializer made for it.
  if (id.is_int64() || id.is_uint64()) {
    std::array<char, 24> buf{'n'};
    const auto end =
        id.is_int64() ? std::to_chars(buf.data() + 1, buf.data() + buf.size(), id.get_int64()).ptr
                      : std::to_chars(buf.data() + 1, buf.data() + buf.size(), id.get_uint64()).ptr;
    return std::string(buf.data(), end);
  }
  return "n" + json::serialize(id);
}

std::shared_ptr<const json::object> Session::client_capabilities() const {
  std::lock_guard lk(mu_);
  return client_caps_;
}

void Session::touch() { last_activity_ns_.store(now_ns()); }

std::chrono::steady_clock::time_point Session::last_activity() const {
  return std::chrono::steady_clock::time_point(
      std::chrono::steady_clock::duration(last_activity_ns_.load()));
}

void Session::reject(const protocol::ClassifyError& e, Outbox& out) {
  auto error = protocol::make_error(e.id, e.error);
  // With an id it answers (and so ends) that request.
  out.push(e.id.is_null() ? Outgoing(std::move(error)) : Outgoing::response(std::move(error)));
}

std::shared_ptr<const protocol::Principal> Session::admit_caller(const protocol::Principal& p) {
  assert(belongs_to(p));
  std::lock_guard lk(mu_);
  if (p.scopes == owner_.scopes)
    caller_.reset();
  else if (!caller_ || caller_->scopes != p.scopes)
    caller_ = std::make_shared<const protocol::Principal>(p);
  return current_caller();
}

std::shared_ptr<const protocol::Principal> Session::caller() const {
  std::lock_guard lk(mu_);
  return current_caller();
}

std::shared_ptr<const protocol::Principal> Session::current_caller() const {
  if (caller_) return caller_;
  // The owner, sharing the session's lifetime: nothing to allocate.
  return std::shared_ptr<const protocol::Principal>(shared_from_this(), &owner_);
}

void Session::deliver(json::object raw, const std::shared_ptr<Outbox>& out,
                      const asio::any_io_executor& ex,
                      std::shared_ptr<const protocol::Principal> caller) {
  touch();
  auto c = protocol::classify(json::value(std::move(raw)));
  if (!c) {
    reject(c.error(), *out);
    return;
  }
  deliver(std::move(c.value()), out, ex, std::move(caller));
}

void Session::deliver(Message msg, const std::shared_ptr<Outbox>& out,
                      const asio::any_io_executor& ex,
                      std::shared_ptr<const protocol::Principal> caller) {
  touch();
  switch (msg.kind) {
    case MessageKind::kRequest:
      start_request(std::move(msg), out, ex, caller ? std::move(caller) : this->caller());
      break;
    case MessageKind::kNotification:
      on_notification(msg);
      break;
    case MessageKind::kResponse:
    case MessageKind::kError:
      on_response(std::move(msg));
      break;
  }
}

void Session::start_request(Message msg, const std::shared_ptr<Outbox>& out,
                            const asio::any_io_executor& ex,
                            std::shared_ptr<const protocol::Principal> caller) {
  json::object params = msg.take_params();
  json::value token;
  if (auto* meta = params.if_contains("_meta"); meta && meta->is_object())
    if (auto* t = meta->get_object().if_contains("progressToken")) token = *t;

  // The era is the request's own (spec: a dual-era server serves both on
  // one endpoint or process): Modern requests carry their metadata.
  std::shared_ptr<const protocol::RequestMeta> modern;
  if (protocol::era_of(&params) == protocol::Era::kModern) {
    auto meta = protocol::read_request_meta(&params);
    std::optional<protocol::RpcError> refused;
    if (!meta)
      refused = meta.error();
    else if (protocol::removed_in_modern(msg.method))
      refused = protocol::method_not_found(msg.method);
    if (refused) {
      out->push(Outgoing::response(protocol::make_error(msg.id, *refused)));
      return;
    }
    modern = std::make_shared<const protocol::RequestMeta>(std::move(meta.value()));
  }
  auto ctx = std::make_shared<RequestContext>(shared_from_this(), std::move(caller), out, msg.id,
                                              msg.method, std::move(token));
  if (modern) ctx->set_param_headers(std::move(msg.param_headers));
  ctx->set_modern(std::move(modern));
  std::string key = id_key(msg.id);
  {
    std::lock_guard lk(mu_);
    in_flight_[key] = InFlight{ctx, ex};
  }
  auto self = shared_from_this();
  asio::co_spawn(
      ex,
      [self, ctx, key, params = std::move(params)]() mutable -> asio::awaitable<void> {
        // Cancellation is reported as values (operation_aborted), never thrown
        // into backend code; handlers check ctx.cancelled() between steps.
        co_await asio::this_coro::throw_if_cancelled(false);
        protocol::Outcome outcome = protocol::RpcError{};
        auto t0 = std::chrono::steady_clock::now();
        try {
          outcome = co_await self->engine_.dispatch(*self, *ctx, ctx->method(), std::move(params));
        } catch (const std::exception& e) {
          spdlog::error("session {}: {} failed: {}", self->id_, ctx->method(), e.what());
          outcome = protocol::internal_error("internal error");
        }
        {
          std::lock_guard lk(self->mu_);
          self->in_flight_.erase(key);
        }
        auto took = std::chrono::steady_clock::now() - t0;
        record_request(ctx->method(), outcome, took);
        // One line per request: failures at info, the rest at debug.
        auto level = outcome.ok() ? spdlog::level::debug : spdlog::level::info;
        if (spdlog::should_log(level)) {
          json::object fields{
              {"session_id", self->id_},
              {"request_id", ctx->request_id()},
              {"method", ctx->method()},
              {"duration_ms", std::chrono::duration<double, std::milli>(took).count()}};
          if (const auto* m = ctx->modern()) {
            fields["protocol_version"] = m->protocol_version;
            if (!m->traceparent.empty()) fields["traceparent"] = m->traceparent;
          }
          if (!outcome.ok()) fields["error_code"] = outcome.error().code;
          // Never the params or the error message: they may carry PII.
          protocol::LogFields scope(fields);
          spdlog::log(level, outcome.ok() ? "request done" : "request failed");
        }
        // What it still asks the client is moot now: withdrawn before its
        // last entry, so the notices go out on its stream.
        ctx->withdraw_client_requests("the request it belonged to has finished");
        // A cancelled request gets no response (spec: cancellation); either
        // way this is its last entry.
        if (ctx->cancelled())
          ctx->outbox()->push(Outgoing::end_without_response());
        else if (outcome.ok() && !outcome.raw_result().empty())
          // Relayed as the upstream wrote it: nothing changed it on the way.
          ctx->outbox()->push(
              Outgoing::relayed_result(ctx->request_id(), outcome.take_raw_result()));
        else
          ctx->outbox()->push(
              Outgoing::response(protocol::make_response(ctx->request_id(), std::move(outcome))));
      },
      asio::bind_cancellation_slot(ctx->cancel_signal().slot(), asio::detached));
}

void Session::on_notification(const Message& msg) {
  if (msg.method == "notifications/initialized") {
    initialized_.store(true);
    return;
  }
  if (msg.method == "notifications/cancelled") {
    const json::object* p = msg.params();
    if (!p) return;
    auto* rid = p->if_contains("requestId");
    if (!rid || !protocol::valid_id(*rid)) return;
    std::string reason;
    if (auto* r = p->if_contains("reason"); r && r->is_string()) reason = r->get_string();
    std::shared_ptr<RequestContext> ctx;
    asio::any_io_executor ex;
    {
      std::lock_guard lk(mu_);
      auto it = in_flight_.find(id_key(*rid));
      if (it == in_flight_.end()) {
        // Finished already, or unknown: ignore (spec: cancellation races).
        spdlog::debug("session {}: cancel for {} ignored (not in flight)", id_,
                      json::serialize(*rid));
        return;
      }
      ctx = it->second.ctx.lock();
      ex = it->second.ex;
    }
    if (!ctx) return;
    spdlog::debug("session {}: cancelling request {} ({})", id_, json::serialize(*rid), reason);
    ctx->mark_cancelled(std::move(reason));
    asio::post(ex, [ctx] { ctx->cancel_signal().emit(asio::cancellation_type::terminal); });
    return;
  }
  engine_.on_client_notification(*this, msg.method, msg.raw);
}

void Session::on_response(Message msg) {
  std::shared_ptr<Pending> p;
  {
    std::lock_guard lk(mu_);
    auto it = pending_.find(id_key(msg.id));
    if (it == pending_.end()) {
      spdlog::debug("session {}: response for unknown request {}", id_, json::serialize(msg.id));
      return;
    }
    p = it->second;
    pending_.erase(it);
  }
  p->reply->push(std::move(msg.raw));
}

std::shared_ptr<Session::Pending> Session::new_pending(json::value& id_out,
                                                       const asio::any_io_executor& ex) {
  auto p = std::make_shared<Pending>();
  p->reply = std::make_shared<Mailbox>(ex, 1);
  std::int64_t n = next_request_id_.fetch_add(1);
  id_out = n;
  std::lock_guard lk(mu_);
  pending_[id_key(id_out)] = p;
  return p;
}

void Session::forget_pending(const json::value& id) {
  std::lock_guard lk(mu_);
  pending_.erase(id_key(id));
}

void Session::cancel_pending(const json::value& id) {
  std::shared_ptr<Pending> p;
  {
    std::lock_guard lk(mu_);
    auto it = pending_.find(id_key(id));
    if (it == pending_.end()) return;
    p = std::move(it->second);
    pending_.erase(it);
  }
  p->reply->close();
}

protocol::Outcome Session::initialize(const json::object& params) {
  auto* pv = params.if_contains("protocolVersion");
  if (!pv || !pv->is_string())
    return protocol::invalid_params("initialize: protocolVersion must be a string");
  auto* caps = params.if_contains("capabilities");
  if (caps && !caps->is_object())
    return protocol::invalid_params("initialize: capabilities must be an object");
  auto* info = params.if_contains("clientInfo");
  if (info && !info->is_object())
    return protocol::invalid_params("initialize: clientInfo must be an object");
  std::string_view v = protocol::negotiate_version(pv->get_string());
  {
    std::lock_guard lk(mu_);
    // One initialize per session, even before notifications/initialized: a
    // second one must not renegotiate the version or capabilities under
    // requests already running.
    if (negotiated_.load())
      return protocol::RpcError{protocol::kInvalidRequest,
                                "Invalid Request: the session is already initialized"};
    version_.store(v.data());
    client_caps_ = std::make_shared<const json::object>(caps ? caps->get_object() : json::object{});
    if (info) client_info_ = info->get_object();
    negotiated_.store(true);
  }
  const auto& o = engine_.options();
  json::object server_info{{"name", o.server_name}, {"version", o.server_version}};
  if (!o.server_title.empty()) server_info["title"] = o.server_title;
  json::object result;
  result["protocolVersion"] = v;
  result["capabilities"] = engine_.capabilities();
  result["serverInfo"] = std::move(server_info);
  if (!o.instructions.empty()) result["instructions"] = o.instructions;
  return result;
}

bool Session::allows_batches() const {
  return negotiated() && protocol::allows_batches(protocol_version());
}

void Session::attach_standalone(std::shared_ptr<Outbox> out) {
  std::vector<json::object> backlog;
  {
    std::lock_guard lk(mu_);
    standalone_ = out;
    backlog = standalone_backlog_.take();
  }
  std::size_t refused = 0;
  for (auto& m : backlog)
    if (!out->push(std::move(m))) ++refused;
  count_dropped_notifications("queue_full", refused);
}

void Session::detach_standalone(const std::shared_ptr<Outbox>& out) {
  std::lock_guard lk(mu_);
  if (standalone_ == out) standalone_.reset();
}

void Session::notify(json::object notification, std::string_view server) {
  const auto* m = notification.if_contains("method");
  const std::string method = m && m->is_string() ? std::string(m->get_string()) : std::string();
  if (!engine_.filters().run_outbound(notification, MessageContext{id_, method, server, {}}).ok())
    return;  // refused by a filter, which says why
  std::shared_ptr<Outbox> out;
  std::size_t dropped = 0;
  {
    std::lock_guard lk(mu_);
    if (closed_.load()) return;  // nobody will ever read it
    if (standalone_ && !standalone_->closed())
      out = standalone_;
    else
      dropped = standalone_backlog_.push(std::move(notification));
  }
  if (!out) {
    count_dropped_notifications("no_stream", dropped);
    return;
  }
  if (!out->push(std::move(notification))) count_dropped_notifications("queue_full", 1);
}

bool Session::subscribed(std::string_view uri) const {
  std::lock_guard lk(mu_);
  return subscriptions_.find(uri) != subscriptions_.end();
}

void Session::subscribe(std::string uri) {
  std::lock_guard lk(mu_);
  subscriptions_.insert(std::move(uri));
}

void Session::unsubscribe(const std::string& uri) {
  std::lock_guard lk(mu_);
  subscriptions_.erase(uri);
}

void Session::close() {
  if (closed_.exchange(true)) return;
  std::vector<std::pair<std::shared_ptr<RequestContext>, asio::any_io_executor>> flights;
  std::map<std::string, std::shared_ptr<Pending>> pending;
  std::shared_ptr<Outbox> standalone;
  {
    std::lock_guard lk(mu_);
    for (auto& [k, f] : in_flight_)
      if (auto c = f.ctx.lock()) flights.emplace_back(c, f.ex);
    pending.swap(pending_);
    standalone = std::move(standalone_);
    standalone_backlog_.clear();  // its memory goes now, not when the last reference does
  }
  for (auto& [ctx, ex] : flights) {
    ctx->mark_cancelled("session closed");
    asio::post(ex, [ctx] { ctx->cancel_signal().emit(asio::cancellation_type::terminal); });
  }
  for (auto& [k, p] : pending) p->reply->close();
  if (standalone) standalone->close();
}

}  // namespace bastion::server
