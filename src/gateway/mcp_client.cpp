#include "gateway/mcp_client.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/era.hpp"
#include "protocol/version.hpp"

namespace bastion::gateway {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace asio::experimental::awaitable_operators;
using protocol::Outcome;
using protocol::RpcError;

namespace {
RpcError error_from(const json::object& eo) {
  RpcError e;
  if (auto* c = eo.if_contains("code"); c && c->is_int64())
    e.code = static_cast<int>(c->get_int64());
  if (auto* m = eo.if_contains("message"); m && m->is_string()) e.message = m->get_string();
  if (auto* d = eo.if_contains("data")) e.data = *d;
  return e;
}
}  // namespace

McpClient::McpClient(asio::any_io_executor ex, std::shared_ptr<Channel> channel,
                     McpClientHandlers handlers)
    : ex_(ex), channel_(std::move(channel)), handlers_(std::move(handlers)) {}

McpClient::~McpClient() = default;

void McpClient::start() {
  asio::co_spawn(
      ex_, [self = shared_from_this()] { return self->read_loop(); }, asio::detached);
}

bool McpClient::alive() const {
  std::lock_guard lk(mu_);
  return alive_;
}

std::string McpClient::close_reason() const {
  std::lock_guard lk(mu_);
  return reason_;
}

std::size_t McpClient::in_flight() const {
  std::lock_guard lk(mu_);
  return pending_.size();
}

void McpClient::fail_all(const std::string& reason) {
  std::map<std::int64_t, std::shared_ptr<ReplyBox>> pending;
  std::map<std::uint64_t, std::shared_ptr<asio::cancellation_signal>> relayed;
  {
    std::lock_guard lk(mu_);
    if (!alive_) return;
    alive_ = false;
    reason_ = reason;
    pending.swap(pending_);
    relayed.swap(relayed_);
  }
  // Nothing more is written to a server that is gone: sends fail at once.
  channel_->close();
  // Waiters see a closed mailbox and report the upstream as unavailable.
  for (auto& [id, box] : pending) box->close();
  // Relayed requests die with their upstream (the client is told they were
  // cancelled); signals are emitted on the executor their coroutines run on.
  if (!relayed.empty())
    asio::post(ex_, [relayed = std::move(relayed)] {
      for (auto& [n, sig] : relayed) sig->emit(asio::cancellation_type::terminal);
    });
  if (handlers_.on_closed) handlers_.on_closed(reason);
}

void McpClient::close(std::string reason) {
  channel_->close();
  fail_all(std::move(reason));
}

asio::awaitable<void> McpClient::read_loop() {
  auto self = shared_from_this();
  for (;;) {
    auto m = co_await channel_->receive();
    if (!m) break;
    const std::optional<std::int64_t> related = m->related;
    auto c = protocol::classify(json::value(std::move(m->message)));
    if (!c) continue;  // not JSON-RPC: ignore
    auto& msg = c.value();
    switch (msg.kind) {
      case protocol::MessageKind::kResponse:
      case protocol::MessageKind::kError: {
        if (!msg.id.is_int64()) break;
        std::shared_ptr<ReplyBox> box;
        {
          std::lock_guard lk(mu_);
          auto it = pending_.find(msg.id.get_int64());
          if (it != pending_.end()) {
            box = it->second;
            pending_.erase(it);
          }
        }
        if (box)
          box->push(Inbound(std::move(msg.raw), related, std::move(m->result_text)));
        else if (handlers_.on_late_response)
          handlers_.on_late_response(msg.id.get_int64());
        break;
      }
      case protocol::MessageKind::kNotification:
        if (handlers_.on_notification) handlers_.on_notification(std::move(msg.raw), related);
        break;
      case protocol::MessageKind::kRequest:
        on_upstream_request(std::move(msg.raw), related);
        break;
    }
  }
  fail_all(channel_->close_reason());
}

void McpClient::on_upstream_request(json::object raw, std::optional<std::int64_t> related) {
  json::value id = raw.at("id");
  std::string method(raw.at("method").get_string());
  json::object params;
  if (auto* p = raw.if_contains("params"); p && p->is_object()) params = std::move(p->get_object());
  if (method == "ping") {
    channel_->send(protocol::make_result(id, json::object{}));
    return;
  }
  if (!handlers_.on_request) {
    channel_->send(protocol::make_error(id, protocol::method_not_found(method)));
    return;
  }
  auto sig = std::make_shared<asio::cancellation_signal>();
  std::uint64_t n;
  {
    std::lock_guard lk(mu_);
    if (!alive_) return;
    n = next_relay_++;
    relayed_.emplace(n, sig);
  }
  asio::co_spawn(
      ex_,
      [self = shared_from_this(), id, method, n, sig, related,
       params = std::move(params)]() mutable -> asio::awaitable<void> {
        Outcome o = co_await self->handlers_.on_request(method, std::move(params), related);
        {
          std::lock_guard lk(self->mu_);
          self->relayed_.erase(n);
        }
        // False (and nothing written) when the upstream has gone meanwhile.
        self->channel_->send(protocol::make_response(id, o));
      },
      asio::bind_cancellation_slot(sig->slot(), asio::detached));
}

asio::awaitable<Outcome> McpClient::request(std::string_view method, json::object params,
                                            std::chrono::milliseconds timeout,
                                            std::function<void(std::int64_t)> on_id) {
  auto ex = co_await asio::this_coro::executor;
  auto box = std::make_shared<ReplyBox>(ex, 1);
  if (modern_) {
    // A Modern server needs the per-request fields on everything we send
    // (a call already carries the calling client's capabilities).
    auto* meta = params.if_contains("_meta");
    if (!meta || !meta->is_object() ||
        !meta->get_object().contains(protocol::meta_key::kProtocolVersion))
      set_modern_meta(params, version_, client_info_, json::object{});
  }
  std::int64_t id;
  {
    std::lock_guard lk(mu_);
    if (!alive_)
      co_return RpcError{protocol::kUpstreamUnavailable, "upstream unavailable: " + reason_,
                         json::object{{kNotDelivered, true}}};
    id = next_id_++;
    pending_[id] = box;
  }
  if (on_id) on_id(id);
  if (!channel_->send(protocol::make_request(id, method, std::move(params)))) {
    std::lock_guard lk(mu_);
    pending_.erase(id);
    co_return RpcError{protocol::kUpstreamUnavailable, "upstream unavailable: channel closed",
                       json::object{{kNotDelivered, true}}};
  }
  asio::steady_timer timer(ex, timeout);
  auto r = co_await (box->pop() || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (r.index() == 0) {
    auto& reply = std::get<0>(r);
    if (!reply) {
      // Closed (the upstream died, or cancel() ran) or our caller was
      // cancelled: then the id is still pending and the upstream must hear.
      bool ours;
      {
        std::lock_guard lk(mu_);
        if (!alive_)
          co_return RpcError{protocol::kUpstreamUnavailable, "upstream unavailable: " + reason_};
        ours = pending_.erase(id) > 0;
      }
      if (ours)
        notify("notifications/cancelled",
               json::object{{"requestId", id}, {"reason", "cancelled by the client"}});
      co_return RpcError{protocol::kRequestCancelled, "request cancelled"};
    }
    if (auto* res = reply->message.if_contains("result"); res && res->is_object()) {
      Outcome o(std::move(res->get_object()));
      o.set_raw_result(std::move(reply->result_text));
      co_return o;
    }
    if (auto* err = reply->message.if_contains("error"); err && err->is_object())
      co_return error_from(err->get_object());
    co_return RpcError{protocol::kInternalError, "malformed response from upstream"};
  }
  // The timer ended first: timed out, or aborted because our caller was
  // cancelled (the || cancels both; either may complete first). Either way
  // the upstream must hear, and a cancellation is not a timeout.
  const bool aborted = std::get<0>(std::get<1>(r)) == asio::error::operation_aborted;
  {
    std::lock_guard lk(mu_);
    pending_.erase(id);
  }
  notify("notifications/cancelled", json::object{{"requestId", id},
                                                 {"reason", aborted ? "cancelled by the client"
                                                                    : "timed out in the gateway"}});
  if (aborted) co_return RpcError{protocol::kRequestCancelled, "request cancelled"};
  co_return RpcError{
      protocol::kRequestTimeout,
      fmt::format("upstream did not answer {} within {} ms", method, timeout.count())};
}

void McpClient::notify(std::string_view method, json::object params) {
  channel_->send(protocol::make_notification(method, std::move(params)));
}

void McpClient::cancel(std::int64_t id, std::string reason) {
  std::shared_ptr<ReplyBox> box;
  {
    std::lock_guard lk(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    box = it->second;
    pending_.erase(it);
  }
  notify("notifications/cancelled", json::object{{"requestId", id}, {"reason", reason}});
  box->close();
}

asio::awaitable<Outcome> McpClient::initialize(json::object client_info, json::object capabilities,
                                               std::chrono::milliseconds timeout) {
  json::object params{{"protocolVersion", protocol::kLatestVersion},
                      {"capabilities", std::move(capabilities)},
                      {"clientInfo", std::move(client_info)}};
  Outcome o = co_await request("initialize", std::move(params), timeout);
  if (!o.ok()) co_return o;
  auto& r = o.result();
  auto* pv = r.if_contains("protocolVersion");
  if (!pv || !pv->is_string() || !protocol::is_supported_version(pv->get_string())) {
    std::string v = pv && pv->is_string() ? std::string(pv->get_string()) : "none";
    co_return RpcError{protocol::kUpstreamUnavailable,
                       fmt::format("upstream speaks unsupported protocol version {}", v)};
  }
  version_ = std::string(pv->get_string());
  if (auto* c = r.if_contains("capabilities"); c && c->is_object()) server_caps_ = c->get_object();
  if (auto* i = r.if_contains("serverInfo"); i && i->is_object()) server_info_ = i->get_object();
  if (auto* i = r.if_contains("instructions"); i && i->is_string()) instructions_ = i->get_string();
  notify("notifications/initialized", {});
  co_return o;
}

asio::awaitable<Outcome> McpClient::open(json::object client_info, json::object capabilities,
                                         UpstreamEra era, std::chrono::milliseconds timeout,
                                         std::chrono::milliseconds probe_timeout) {
  if (era != UpstreamEra::kLegacy) {
    json::object params;
    set_modern_meta(params, protocol::kModernVersions.front(), client_info, json::object{});
    Outcome o = co_await request("server/discover", std::move(params),
                                 era == UpstreamEra::kModern ? timeout : probe_timeout);
    if (o.ok()) {
      auto d = read_discover(o.result());
      if (!d) co_return RpcError{protocol::kUpstreamUnavailable, d.error().reason};
      modern_version_ = d->version;
      if (d->legacy_too && era == UpstreamEra::kAuto) {
        // Dual-era: a Legacy session for Legacy clients (exactly as
        // before), Modern requests for Modern clients.
        client_info_ = client_info;
        co_return co_await initialize(std::move(client_info), std::move(capabilities), timeout);
      }
      {
        std::lock_guard lk(mu_);
        version_ = d->version;
        server_caps_ = std::move(d->capabilities);
        server_info_ = std::move(d->server_info);
        instructions_ = std::move(d->instructions);
        client_info_ = std::move(client_info);
        modern_ = true;
      }
      co_return o;
    }
    // A Modern error means a Modern server we cannot talk to: falling back
    // would be wrong (spec). Anything else (method not found, "not
    // initialized", an HTTP 400/404/405, silence) means a Legacy one.
    if (era == UpstreamEra::kModern || is_modern_error(o.error().code))
      co_return RpcError{protocol::kUpstreamUnavailable,
                         "server/discover failed: " + o.error().message};
    if (!alive())
      co_return RpcError{protocol::kUpstreamUnavailable, "upstream unavailable: " + close_reason()};
    spdlog::debug("server/discover answered {} ({}): a Legacy server, initializing", o.error().code,
                  o.error().message);
  }
  co_return co_await initialize(std::move(client_info), std::move(capabilities), timeout);
}

}  // namespace bastion::gateway
