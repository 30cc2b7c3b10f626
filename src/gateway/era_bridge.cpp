#include "gateway/era_bridge.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>
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
#include <map>
#include <optional>
#include <stdexcept>

#include "gateway/era_wire.hpp"
#include "protocol/base64.hpp"
#include "protocol/era.hpp"
#include "server/mailbox.hpp"

namespace bastion::gateway {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::Outcome;
using protocol::RpcError;

std::string_view to_string(PendingMiss m) {
  switch (m) {
    case PendingMiss::kUnknown:
      return "unknown, already used or swept";
    case PendingMiss::kForeign:
      return "another client's";
    case PendingMiss::kExpired:
      return "expired";
  }
  return "?";
}

namespace {

std::string principal_of(const server::RequestContext& ctx) {
  return ctx.caller().client_id + "\n" + ctx.caller().subject;
}

std::string target_of(std::string_view method, const json::object& params) {
  auto* t = params.if_contains(protocol::mcp_name_field(method));
  return t && t->is_string() ? std::string(t->get_string()) : std::string();
}

// Built outside coroutines (GCC 12 and braced initializers with literals).
// `asks`: the upstream's requests of one round, as ask events.
json::object input_required(std::vector<json::object> asks, const std::string& id,
                            const std::string& process) {
  json::object requests;
  for (auto& a : asks)
    requests[a.at("ask").get_string()] =
        json::object{{"method", std::move(a.at("method"))}, {"params", std::move(a.at("params"))}};
  return json::object{{"resultType", "input_required"},
                      {"inputRequests", std::move(requests)},
                      {"requestState", json::object{{"b", id}, {"p", process}}}};
}

// A random name for this process's table: a retry that another replica (or
// this one before a restart) sealed is told so instead of being "unknown".
std::string random_process_tag() {
  unsigned char raw[8];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  return protocol::hex_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
}

json::object ask_event(const std::string& key, const std::string& method, json::object params) {
  return json::object{{"ask", key}, {"method", method}, {"params", std::move(params)}};
}

json::object done_event() { return json::object{{"done", true}}; }

json::object answer_of(const json::value* response) {
  if (response && response->is_object()) return json::object{{"result", response->get_object()}};
  return json::object{
      {"error",
       RpcError{protocol::kInvalidParams, "the client gave no answer to this request"}.to_json()}};
}

// Input requests handed over in one round at most (the events mailbox holds
// 64; a server asking more at once gets them over several rounds).
constexpr std::size_t kMaxAsksPerRound = 16;

RpcError stale_state() {
  return protocol::invalid_params(
      "Invalid params: requestState refers to no waiting call (it expired, was already used, or "
      "belongs to another client)");
}

// The state is genuine (the shared key opened it) but its call waits in
// another process's table: behind a balancer, the retry must go to the
// replica that answered input_required.
RpcError elsewhere_state() {
  return protocol::invalid_params(
      "Invalid params: requestState refers to a call waiting in another Bastion process (another "
      "replica, or this one before a restart); send the retry to the replica that answered "
      "input_required");
}

// What the relay setting forbids of an upstream's input request, if anything.
std::optional<std::string> relay_forbids(std::string_view method, const RelayOptions& relay) {
  if (method == "sampling/createMessage" && !relay.sampling) return "sampling";
  if (method == "elicitation/create" && !relay.elicitation) return "elicitation";
  if (method == "roots/list" && !relay.roots) return "roots";
  return std::nullopt;
}

}  // namespace

// One Modern client's call to a Legacy upstream, alive across the client's
// retries: the upstream call runs in its own coroutine; its input requests
// and its end arrive as events.
class EraBridge::Exchange : public InputSink, public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::any_io_executor ex, std::string principal, std::string method, std::string target,
           std::shared_ptr<Upstream> upstream, std::shared_ptr<void> keep)
      : strand_(asio::make_strand(ex)),
        events_(std::make_shared<server::Mailbox>(strand_, 64)),
        principal_(std::move(principal)),
        method_(std::move(method)),
        target_(std::move(target)),
        upstream_(std::move(upstream)),
        keep_(std::move(keep)) {}

  asio::awaitable<Outcome> ask(std::string method, json::object params) override {
    auto box = std::make_shared<server::Mailbox>(strand_, 1);
    std::string key;
    {
      std::lock_guard lk(mu_);
      if (ended_) co_return RpcError{protocol::kRequestCancelled, "the client's call has ended"};
      key = fmt::format("bastion-{}", ++asked_);
      open_[key] = box;
    }
    if (!events_->push(ask_event(key, method, std::move(params)))) {
      std::lock_guard lk(mu_);
      open_.erase(key);
      co_return RpcError{protocol::kInternalError, "too many input requests at once"};
    }
    std::optional<json::object> reply = co_await box->pop();
    {
      std::lock_guard lk(mu_);
      open_.erase(key);
    }
    if (!reply)
      co_return RpcError{protocol::kRequestCancelled,
                         method + ": the client did not answer in time (or went away)"};
    if (auto* r = reply->if_contains("result"); r && r->is_object())
      co_return Outcome(std::move(r->get_object()));
    RpcError e{protocol::kInternalError, "the client's answer was not a result"};
    if (auto* eo = reply->if_contains("error"); eo && eo->is_object()) {
      if (auto* c = eo->get_object().if_contains("code"); c && c->is_int64())
        e.code = static_cast<int>(c->get_int64());
      if (auto* m = eo->get_object().if_contains("message"); m && m->is_string())
        e.message = m->get_string();
    }
    co_return e;
  }

  std::shared_ptr<server::RequestContext> current() const override {
    std::lock_guard lk(mu_);
    return current_;
  }
  bool waiting() const override {
    std::lock_guard lk(mu_);
    return !ended_ && !open_.empty();
  }
  void set_current(std::shared_ptr<server::RequestContext> c) {
    std::lock_guard lk(mu_);
    current_ = std::move(c);
  }

  // Answers the input requests last sent to the client, each with the
  // response under its own key (none: an error for that request only).
  // Keys of other rounds or that Bastion never sent answer nothing.
  void answer(const json::object* responses) {
    std::vector<std::pair<std::string, std::shared_ptr<server::Mailbox>>> boxes;
    {
      std::lock_guard lk(mu_);
      for (auto& key : std::exchange(sent_, {}))
        if (auto it = open_.find(key); it != open_.end()) boxes.emplace_back(key, it->second);
    }
    for (auto& [key, box] : boxes)
      box->push(answer_of(responses ? responses->if_contains(key) : nullptr));
  }
  void sent(std::vector<std::string> keys) {
    std::lock_guard lk(mu_);
    sent_ = std::move(keys);
  }

  // Starts the upstream call (once).
  void run(std::string method, json::object params) {
    auto self = shared_from_this();
    auto body = [self, u = upstream_, method = std::move(method),
                 params = std::move(params)]() mutable -> asio::awaitable<void> {
      std::shared_ptr<server::RequestContext> first = self->current();
      Outcome o = co_await u->call(method, std::move(params), *first, self);
      EraBridge::from_legacy(*u, o);
      {
        std::lock_guard lk(self->mu_);
        self->done_.emplace(std::move(o));
      }
      self->events_->push(done_event());
    };
    asio::co_spawn(strand_, std::move(body),
                   asio::bind_cancellation_slot(cancel_.slot(), asio::detached));
  }

  // Ends the call: open input requests fail, the upstream call is cancelled.
  void abort(const std::string& why) {
    std::map<std::string, std::shared_ptr<server::Mailbox>> open;
    {
      std::lock_guard lk(mu_);
      if (ended_) return;
      ended_ = true;
      open.swap(open_);
    }
    spdlog::debug("bridged {} {} ended: {}", method_, target_, why);
    for (auto& [k, box] : open) box->close();
    asio::post(strand_, [self = shared_from_this()] {
      self->cancel_.emit(asio::cancellation_type::terminal);
    });
  }

  std::optional<Outcome> take_done() {
    std::lock_guard lk(mu_);
    return std::exchange(done_, std::nullopt);
  }
  bool ended() const {
    std::lock_guard lk(mu_);
    return ended_;
  }

  asio::strand<asio::any_io_executor> strand_;
  std::shared_ptr<server::Mailbox> events_;
  const std::string principal_, method_, target_;
  const std::shared_ptr<Upstream> upstream_;  // where the call runs
  std::size_t rounds_ = 0;                    // touched by one client request at a time

 private:
  mutable std::mutex mu_;
  std::shared_ptr<server::RequestContext> current_;
  std::map<std::string, std::shared_ptr<server::Mailbox>> open_;  // key -> the answer's box
  std::vector<std::string> sent_;  // the keys of the input requests the client holds
  std::uint64_t asked_ = 0;
  std::optional<Outcome> done_;
  bool ended_ = false;
  asio::cancellation_signal cancel_;
  // Keeps the instance running while the call lives (EraBridge::call).
  const std::shared_ptr<void> keep_;
};

EraBridge::EraBridge(asio::any_io_executor ex, EraBridgeOptions opts)
    : ex_(ex), opts_(opts), process_(random_process_tag()), table_(opts.limits) {}

EraBridge::~EraBridge() { shutdown(); }

void EraBridge::shutdown() {
  std::shared_ptr<asio::steady_timer> timer;
  {
    std::lock_guard lk(sweep_mu_);
    shut_ = true;
    timer = sweep_timer_;
  }
  if (timer) asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  for (auto& x : table_.clear()) x->abort("shutdown");
}

asio::awaitable<Outcome> EraBridge::call(std::shared_ptr<Upstream> u, std::string_view method,
                                         json::object params, server::RequestContext& ctx,
                                         std::shared_ptr<void> keep) {
  const json::value& state = ctx.request_state();
  const json::object* st = state.is_object() ? &state.get_object() : nullptr;
  const bool may_ask = ctx.modern() && protocol::allows_input_required(method);
  if (!st && !ctx.input_responses() && !may_ask) {
    // A first round that needs no translation up front: what comes back is
    // translated below when the server turned out to be Modern. (Not
    // waiting for the start here keeps calls in the order they came.)
    Outcome out = co_await u->call(method, std::move(params), ctx);
    if (u->modern_for(ctx))
      from_modern(*u, out);
    else
      from_legacy(*u, out);
    co_return out;
  }
  // The era is the running instance's: start it first (a no-op when it runs).
  co_await u->ensure_started();
  if (u->modern_for(ctx)) {
    if (st && !st->contains("u")) co_return stale_state();
    // The engine took the answers and opened its sealed state; the
    // upstream's own state (opaque to us) rides inside it.
    if (st)
      if (auto* inner = st->if_contains("u")) params["requestState"] = *inner;
    if (const json::object* answers = ctx.input_responses()) params["inputResponses"] = *answers;
    Outcome out = co_await u->call(method, std::move(params), ctx);
    from_modern(*u, out);
    co_return out;
  }
  if (st && !st->contains("b")) co_return stale_state();
  co_return co_await bridged(std::move(u), std::string(method), std::move(params), ctx,
                             std::move(keep));
}

protocol::Expected<std::string, RpcError> EraBridge::waiting_id(const json::value& state,
                                                                std::string_view method) const {
  const json::value* id = state.is_object() ? state.get_object().if_contains("b") : nullptr;
  if (!id || !id->is_string()) return stale_state();
  const json::value* process = state.get_object().if_contains("p");
  if (process && process->is_string() && process->get_string() != process_) {
    // Never looked up here: a table of this process cannot hold it.
    spdlog::info("refused a requestState for {}: its call waits in another process", method);
    return elsewhere_state();
  }
  return std::string(id->get_string());
}

protocol::Expected<std::shared_ptr<Upstream>, RpcError> EraBridge::waiting_at(
    std::string_view method, const server::RequestContext& ctx) const {
  auto id = waiting_id(ctx.request_state(), method);
  if (!id) return id.error();
  auto x = table_.peek(id.value(), principal_of(ctx));
  if (!x) return stale_state();  // bridged() says why when it takes it
  return x.value()->upstream_;
}

void EraBridge::from_legacy(const Upstream& u, Outcome& out) {
  if (!out.ok()) return;
  // Results of these types exist only in 2026-07-28: from a Legacy server
  // they are forged, and an input_required would carry requests past its
  // relay settings (relay.* is applied to what a Legacy server asks on the
  // wire) to the client.
  const std::string_view type = protocol::result_type(std::as_const(out).result());
  if (type == "input_required" || type == "task") {
    spdlog::warn("server '{}' answered with a '{}' result, which its protocol does not have: "
                 "refused",
                 u.name(), type);
    out = protocol::internal_error(
        fmt::format("server '{}' answered with a '{}' result, which its protocol version does "
                    "not have",
                    u.name(), type));
  }
}

void EraBridge::from_modern(const Upstream& u, Outcome& out) {
  if (!out.ok()) return;
  json::object& r = out.result();
  if (protocol::result_type(r) != "input_required") {
    strip_modern_result(r);
    return;
  }
  if (auto* reqs = r.if_contains("inputRequests"); reqs && reqs->is_object())
    for (const auto& kv : reqs->get_object()) {
      const json::value* m =
          kv.value().is_object() ? kv.value().get_object().if_contains("method") : nullptr;
      if (!m || !m->is_string()) continue;  // the engine refuses malformed ones
      if (auto why = relay_forbids(m->get_string(), u.options().relay)) {
        out = RpcError{protocol::kInvalidRequest,
                       fmt::format("{} refused: server '{}' may not ask clients for {}",
                                   std::string_view(m->get_string()), u.name(), *why)};
        return;
      }
    }
  if (auto* inner = r.if_contains("requestState")) *inner = json::object{{"u", *inner}};
  r.erase("ttlMs");
  r.erase("cacheScope");
}

asio::awaitable<Outcome> EraBridge::bridged(std::shared_ptr<Upstream> u, std::string method,
                                            json::object params, server::RequestContext& ctx,
                                            std::shared_ptr<void> keep) {
  const std::string principal = principal_of(ctx);
  const json::value& state = ctx.request_state();
  std::shared_ptr<Exchange> x;
  if (state.is_object()) {
    auto id = waiting_id(state, method);
    if (!id) co_return id.error();
    auto taken = table_.take(id.value(), principal);
    if (!taken) {
      spdlog::info("refused a requestState for {}: the waiting call is {}", method,
                   to_string(taken.error()));
      if (taken.error() == PendingMiss::kExpired)
        for (auto& gone : table_.expire()) gone->abort("its client did not come back in time");
      co_return stale_state();
    }
    x = std::move(taken.value());
    if (x->method_ != method || x->target_ != target_of(method, params)) {
      // The seal binds the request, so this is a defect, not a client's doing.
      x->abort("resumed by another request");
      co_return stale_state();
    }
    x->set_current(ctx.shared_from_this());
    x->answer(ctx.input_responses());
  } else {
    x = std::make_shared<Exchange>(ex_, principal, method, target_of(method, params), std::move(u),
                                   std::move(keep));
    x->set_current(ctx.shared_from_this());
    x->run(method, std::move(params));
  }
  co_return co_await step(std::move(x));
}

asio::awaitable<Outcome> EraBridge::step(std::shared_ptr<Exchange> x) {
  std::optional<json::object> ev = co_await x->events_->pop();
  if (!ev) {
    // This request was cancelled (the client went away) while it waited.
    x->abort("the client's request was cancelled");
    co_return RpcError{protocol::kRequestCancelled, "request cancelled"};
  }
  if (ev->contains("done")) {
    std::optional<Outcome> o = x->take_done();
    if (!o) co_return protocol::internal_error("bridged call ended without a result");
    co_return std::move(*o);
  }
  // A Legacy server asks one request at a time on the wire; those it has
  // pending together (sent within `gather` of each other) become one round,
  // as a Modern server would ask them.
  std::vector<json::object> asks;
  asks.push_back(std::move(*ev));
  std::optional<Outcome> ended;
  if (opts_.gather.count() > 0) {
    asio::steady_timer quiet(co_await asio::this_coro::executor);
    for (bool more = true; more && asks.size() < kMaxAsksPerRound;) {
      quiet.expires_after(opts_.gather);
      auto [ec] = co_await quiet.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        x->abort("the client's request was cancelled");
        co_return RpcError{protocol::kRequestCancelled, "request cancelled"};
      }
      more = false;
      while (auto next = x->events_->try_pop()) {
        if (next->contains("done")) {
          ended = x->take_done();
          break;
        }
        asks.push_back(std::move(*next));
        more = true;
      }
      if (ended) break;
    }
  }
  if (ended) {
    // The call ended meanwhile (the server gave up on its questions).
    x->abort("the server answered without its input");
    co_return std::move(*ended);
  }
  x->rounds_ += asks.size();
  if (x->rounds_ > opts_.max_rounds) {
    x->abort("too many rounds");
    co_return protocol::internal_error(
        fmt::format("the server asked for input more than {} times in one call", opts_.max_rounds));
  }
  for (auto& gone : table_.expire()) gone->abort("its client did not come back in time");
  auto id = table_.insert(x->principal_, x);
  if (!id) {
    x->abort(id.error().reason);
    co_return RpcError{protocol::kResourceExhausted, id.error().reason + "; retry later"};
  }
  std::vector<std::string> keys;
  for (const auto& a : asks) keys.emplace_back(a.at("ask").get_string());
  x->sent(std::move(keys));
  // Notifications from now on have no open request to go to until the retry.
  x->set_current(nullptr);
  start_sweeper();
  co_return input_required(std::move(asks), id.value(), process_);
}

void EraBridge::start_sweeper() {
  {
    std::lock_guard lk(sweep_mu_);
    if (sweeping_ || shut_) return;
    sweeping_ = true;
    if (!sweep_timer_) sweep_timer_ = std::make_shared<asio::steady_timer>(asio::make_strand(ex_));
  }
  asio::co_spawn(sweep_timer_->get_executor(), sweep(weak_from_this()), asio::detached);
}

asio::awaitable<void> EraBridge::sweep(std::weak_ptr<EraBridge> weak) {
  for (;;) {
    std::shared_ptr<asio::steady_timer> timer;
    std::chrono::milliseconds every;
    {
      auto self = weak.lock();
      if (!self) co_return;
      std::lock_guard lk(self->sweep_mu_);
      if (self->shut_ || self->table_.size() == 0) {
        self->sweeping_ = false;
        co_return;
      }
      timer = self->sweep_timer_;
      // Often enough that an entry outlives its deadline by a quarter of
      // its lifetime at most.
      every = std::clamp(self->opts_.limits.ttl / 4, std::chrono::milliseconds(10),
                         std::chrono::milliseconds(5000));
    }
    timer->expires_after(every);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    auto self = weak.lock();
    if (!self || ec) {
      if (self) {
        std::lock_guard lk(self->sweep_mu_);
        self->sweeping_ = false;
      }
      co_return;
    }
    for (auto& gone : self->table_.expire()) gone->abort("its client did not come back in time");
  }
}

}  // namespace bastion::gateway
