// One configured server's life: lazy or eager start through the channel
// factory, initialize and listing, the health loop, restart with backoff,
// idle stop, attributing what the server sends to the call that caused it,
// and calls with their cancellation.
// Over 500 lines for a reason: one state machine over one set of members
// under one mutex (state, client, flights, catalogue, errors); splitting it
// would spread that invariant over files. The transport of messages is in
// mcp_client and the channels, the catalogue rules in catalogue. It is being
// changed for the 2026-07-28 translation right now.
#include "gateway/upstream.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>
#include <thread>

#include "gateway/trace_context.hpp"
#include "protocol/printable.hpp"
#include "protocol/version.hpp"
#include "server/session.hpp"

namespace bastion::gateway {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::Outcome;
using protocol::RpcError;
using server::Kind;
using server::list_key;
using server::list_method;

std::string_view to_string(UpstreamState s) {
  switch (s) {
    case UpstreamState::kStopped:
      return "stopped";
    case UpstreamState::kStarting:
      return "starting";
    case UpstreamState::kReady:
      return "ready";
    case UpstreamState::kBackoff:
      return "backoff";
  }
  return "?";
}

namespace {

constexpr std::array<Kind, 4> kKinds = {Kind::kTool, Kind::kResource, Kind::kResourceTemplate,
                                        Kind::kPrompt};

// How long a call Bastion stopped waiting for still counts as running on the
// server when the server never answers it: a server that ignores the
// cancellation may go on for a while; one that is still at it a minute later
// is hung, and holding its requests refused for longer would only stop other
// sessions from using it.
constexpr std::chrono::seconds kAbandonedLinger{60};

bool has_cap(const json::object& caps, Kind k) {
  const char* key = k == Kind::kTool ? "tools" : k == Kind::kPrompt ? "prompts" : "resources";
  return caps.contains(key);
}

// Built outside coroutines: GCC 12 rejects braced initializers with string
// literals inside coroutine bodies.
json::object gateway_client_info() {
  return {{"name", "bastion"}, {"version", protocol::bastion_version()}};
}

}  // namespace

Upstream::Upstream(asio::any_io_executor ex, UpstreamOptions opts, Events events,
                   ChannelFactory factory)
    : strand_(asio::make_strand(ex)),
      opts_(std::move(opts)),
      events_(std::move(events)),
      factory_(factory ? std::move(factory) : default_channel_factory(opts_)),
      backoff_(opts_.restart_backoff),
      listen_backoff_(opts_.restart_backoff) {}

Upstream::~Upstream() { stop("shutdown"); }

UpstreamState Upstream::state() const {
  std::lock_guard lk(mu_);
  return state_;
}

std::string Upstream::last_error() const {
  std::lock_guard lk(mu_);
  return last_error_;
}

std::uint64_t Upstream::restarts() const {
  std::lock_guard lk(mu_);
  return restarts_;
}

std::vector<CatalogueEntry> Upstream::catalogue(Kind k) const {
  std::lock_guard lk(mu_);
  auto it = catalogue_.find(k);
  return it == catalogue_.end() ? std::vector<CatalogueEntry>{} : it->second;
}

std::optional<std::string> Upstream::withheld_reason(Kind k, std::string_view exposed) const {
  std::lock_guard lk(mu_);
  auto it = withheld_.find(k);
  if (it == withheld_.end()) return std::nullopt;
  auto w = it->second.find(exposed);
  if (w == it->second.end()) return std::nullopt;
  return w->second;
}

bool Upstream::vet(Kind k, bool record) {
  std::lock_guard vl(vet_mu_);
  std::vector<CatalogueEntry> entries;
  {
    std::lock_guard lk(mu_);
    if (auto it = admitted_.find(k); it != admitted_.end()) entries = it->second;
  }
  std::vector<PinDecision> decisions;
  if (events_.vet && k != Kind::kResource && !entries.empty())
    decisions = events_.vet(k, entries, record);
  std::vector<CatalogueEntry> visible;
  std::map<std::string, std::string, std::less<>> withheld;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto& e = entries[i];
    PinVerdict v = i < decisions.size() ? decisions[i].verdict : PinVerdict::kServe;
    if (v == PinVerdict::kWithhold) {
      withheld[e.exposed] = decisions[i].reason;
      continue;
    }
    if (v == PinVerdict::kServeWarn) {
      auto* d = e.item.if_contains("description");
      std::string text = d && d->is_string() ? std::string(d->get_string()) : std::string();
      e.item["description"] = "[Bastion warning: " + decisions[i].reason +
                              "; an operator has not approved it.] " + text;
    }
    visible.push_back(std::move(e));
  }
  std::lock_guard lk(mu_);
  auto& cur = catalogue_[k];
  bool changed = cur.size() != visible.size();
  for (std::size_t i = 0; !changed && i < cur.size(); ++i)
    changed = cur[i].exposed != visible[i].exposed || cur[i].item != visible[i].item;
  cur = std::move(visible);
  withheld_[k] = std::move(withheld);
  return changed;
}

void Upstream::revet() {
  {
    std::lock_guard lk(mu_);
    if (!client_ || state_ != UpstreamState::kReady) return;
  }
  for (Kind k : kKinds)
    if (vet(k, false) && events_.catalogue_changed) events_.catalogue_changed(k);
}

std::vector<protocol::ParamHeader> Upstream::param_headers(std::string_view exposed) const {
  std::lock_guard lk(mu_);
  auto it = catalogue_.find(Kind::kTool);
  if (it != catalogue_.end())
    for (auto& e : it->second)
      if (e.exposed == exposed) return e.param_headers;
  return {};
}

std::vector<protocol::ParamHeader> Upstream::param_headers_at_server(
    std::string_view original) const {
  std::lock_guard lk(mu_);
  auto it = admitted_.find(Kind::kTool);
  if (it != admitted_.end())
    for (auto& e : it->second)
      if (e.original == original) return e.param_headers;
  return {};
}

std::optional<std::string> Upstream::original_of(Kind k, std::string_view exposed) const {
  std::lock_guard lk(mu_);
  auto it = catalogue_.find(k);
  if (it == catalogue_.end()) return std::nullopt;
  for (auto& e : it->second)
    if (e.exposed == exposed) return e.original;
  return std::nullopt;
}

json::object Upstream::capabilities() const {
  std::lock_guard lk(mu_);
  return client_ ? client_->server_capabilities() : json::object{};
}

asio::awaitable<std::shared_ptr<McpClient>> Upstream::ensure_started() {
  std::shared_ptr<server::Mailbox> waiter;
  {
    std::lock_guard lk(mu_);
    last_used_ = std::chrono::steady_clock::now();
    if (stopping_) co_return nullptr;
    if (state_ == UpstreamState::kReady && client_ && client_->alive()) co_return client_;
    if (state_ == UpstreamState::kBackoff && std::chrono::steady_clock::now() < retry_at_)
      co_return nullptr;
    if (state_ == UpstreamState::kStarting) {
      waiter = std::make_shared<server::Mailbox>(co_await asio::this_coro::executor, 1);
      start_waiters_.push_back(waiter);
    } else {
      state_ = UpstreamState::kStarting;
    }
  }
  if (waiter) {
    co_await waiter->pop();  // closed when the start attempt ends
    std::lock_guard lk(mu_);
    co_return state_ == UpstreamState::kReady ? client_ : nullptr;
  }
  auto c = co_await start();
  std::vector<std::shared_ptr<server::Mailbox>> waiters;
  {
    std::lock_guard lk(mu_);
    waiters.swap(start_waiters_);
  }
  for (auto& w : waiters) w->close();
  co_return c;
}

asio::awaitable<std::shared_ptr<McpClient>> Upstream::start() {
  auto fail = [this](std::string why) {
    spdlog::warn("upstream {}: {}", opts_.name, why);
    std::lock_guard lk(mu_);
    note_error(why);
    last_error_ = std::move(why);
    state_ = UpstreamState::kBackoff;
    retry_at_ = std::chrono::steady_clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, opts_.restart_backoff_max);
  };
  // The server's own variables; the runtime adds a fixed PATH and a private
  // HOME, and nothing else of Bastion's environment.
  ChannelRequest req{opts_, opts_.env, {}, strand_, {}};
  req.param_headers = [weak = weak_from_this()](std::string_view tool) {
    auto self = weak.lock();
    return self ? self->param_headers_at_server(tool) : std::vector<protocol::ParamHeader>{};
  };
  for (const auto& [var, secret] : opts_.secret_env) {
    auto value = events_.resolve_secret ? events_.resolve_secret(secret) : std::nullopt;
    if (!value) {
      fail(fmt::format("secret '{}' (for {}) is not set: run `bastion secret set {}`", secret, var,
                       secret));
      co_return nullptr;
    }
    req.env[var] = std::move(*value);  // only this server's environment sees it
    req.secret_vars.insert(var);
  }
  ChannelResult opened = factory_(req);
  if (!opened.ok()) {
    fail(opened.error().reason);
    co_return nullptr;
  }
  std::shared_ptr<Channel> channel = opened->channel;
  auto weak = weak_from_this();
  auto holder = std::make_shared<std::weak_ptr<McpClient>>();
  McpClientHandlers handlers;
  handlers.on_notification = [weak](json::object m, std::optional<std::int64_t> related) {
    if (auto self = weak.lock()) self->on_notification(std::move(m), related);
  };
  handlers.on_request = [weak](std::string method, json::object params,
                               std::optional<std::int64_t> related) -> asio::awaitable<Outcome> {
    auto self = weak.lock();
    if (!self) co_return RpcError{protocol::kInternalError, "gateway is shutting down"};
    co_return co_await self->on_request(std::move(method), std::move(params), related);
  };
  handlers.on_closed = [weak, holder](std::string reason) {
    auto self = weak.lock();
    auto c = holder->lock();
    if (self && c) self->on_closed(c, std::move(reason));
  };
  handlers.on_late_response = [weak, holder](std::int64_t id) {
    auto self = weak.lock();
    auto c = holder->lock();
    if (self && c) self->on_late_response(c, id);
  };
  auto client = std::make_shared<McpClient>(strand_, channel, std::move(handlers));
  *holder = client;
  {
    std::lock_guard lk(mu_);
    client_ = client;
    terminate_ = std::move(opened->terminate);
  }
  client->start();
  // A Legacy server that ignores an unknown method must not hold up its
  // start for the whole init timeout.
  const auto probe_timeout = std::min(opts_.init_timeout, std::chrono::milliseconds(5000));
  Outcome init = co_await client->open(
      gateway_client_info(),
      upstream_client_capabilities(opts_.declare.value_or(opts_.relay), opts_.per_session),
      opts_.era, opts_.init_timeout, probe_timeout);
  if (!init.ok()) {
    std::string why = fmt::format("initialize failed: {}", init.error().message);
    std::function<void()> ours;  // unless on_closed() already took it
    {
      std::lock_guard lk(mu_);
      if (client_ == client) {
        client_.reset();
        ours = std::move(terminate_);
      }
    }
    client->close(why);
    if (ours) std::thread(std::move(ours)).detach();
    fail(why);
    co_return nullptr;
  }
  if (!client->modern() && client->server_capabilities().contains("logging"))
    client->notify("logging/setLevel", json::object{{"level", "debug"}});  // we filter per session
  // Ready only once the catalogue is in: a tools/list that sees kReady must
  // find this server's tools, not an empty list (waiters block until then).
  co_await refresh_all();
  {
    std::lock_guard lk(mu_);
    // It exited or was stopped while listing: on_closed()/stop() set the state.
    if (client_ != client) co_return nullptr;
    state_ = UpstreamState::kReady;
    backoff_ = opts_.restart_backoff;
    last_error_.clear();
  }
  if (opts_.ping_interval.count() > 0 || opts_.idle_shutdown.count() > 0)
    asio::co_spawn(strand_, health_loop(client), asio::detached);
  // A Modern server announces changes only on a listen (spec 2026-07-28
  // basic/patterns/subscriptions).
  if (client->modern()) open_listen(client);
  spdlog::info("upstream {}: ready ({} {})", opts_.name,
               client->server_info().contains("name")
                   ? json::serialize(client->server_info().at("name"))
                   : "?",
               client->protocol_version());
  co_return client;
}

asio::awaitable<void> Upstream::refresh(Kind k) {
  std::shared_ptr<McpClient> c;
  {
    std::lock_guard lk(mu_);
    c = client_;
  }
  if (!c) co_return;
  std::vector<json::object> items;
  if (has_cap(c->server_capabilities(), k)) {
    json::value cursor;
    for (int page = 0; page < 1000; ++page) {  // bounded: a broken server cannot loop us
      json::object params;
      if (!cursor.is_null()) params["cursor"] = cursor;
      Outcome o = co_await c->request(list_method(k), std::move(params), opts_.init_timeout);
      if (!o.ok()) {
        spdlog::warn("upstream {}: {} failed: {}", opts_.name, list_method(k), o.error().message);
        break;
      }
      if (auto* arr = o.result().if_contains(list_key(k)); arr && arr->is_array())
        for (auto& e : arr->get_array())
          if (e.is_object()) items.push_back(std::move(e.get_object()));
      auto* next = o.result().if_contains("nextCursor");
      if (!next || !next->is_string() || next->get_string().empty()) break;
      cursor = *next;
    }
  }
  // Checked and exposed once here; every listing and routing decision reads
  // the admitted entries.
  AdmittedCatalogue admitted = admit(k, std::move(items), opts_.prefix, opts_.catalogue);
  {
    std::lock_guard vl(vet_mu_);  // a revet running now used the previous list
    std::lock_guard lk(mu_);
    admitted_[k] = std::move(admitted.entries);
  }
  vet(k);
  if (events_.catalogue_note)
    for (auto& n : admitted.notes) events_.catalogue_note(n);
  if (events_.catalogue_changed) events_.catalogue_changed(k);
}

asio::awaitable<void> Upstream::refresh_all() {
  for (Kind k : kKinds) co_await refresh(k);
}

asio::awaitable<void> Upstream::health_loop(std::shared_ptr<McpClient> c) {
  using std::chrono::milliseconds;
  asio::steady_timer t(strand_);
  // Idleness is looked at a few times per idle period (an idle server stops
  // at most a quarter period late); pings go out at their own interval.
  const bool pings = opts_.ping_interval.count() > 0;
  milliseconds tick = pings ? opts_.ping_interval : milliseconds(1000);
  if (opts_.idle_shutdown.count() > 0)
    tick =
        std::min(tick, std::clamp(opts_.idle_shutdown / 4, milliseconds(10), milliseconds(1000)));
  auto next_ping = std::chrono::steady_clock::now() + opts_.ping_interval;
  while (c->alive()) {
    t.expires_after(tick);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!c->alive()) break;
    if (opts_.idle_shutdown.count() > 0) {
      bool idle;
      {
        std::lock_guard lk(mu_);
        idle =
            flights_.empty() && std::chrono::steady_clock::now() - last_used_ > opts_.idle_shutdown;
      }
      // The listens Bastion holds open are no client's work.
      if (idle && c->in_flight() <= open_listens()) {
        spdlog::info("upstream {}: idle, stopping", opts_.name);
        stop("idle");
        {
          std::lock_guard lk(mu_);
          stopping_ = false;  // a later call starts it again
          state_ = UpstreamState::kStopped;
        }
        break;
      }
    }
    if (pings && std::chrono::steady_clock::now() >= next_ping) {
      next_ping = std::chrono::steady_clock::now() + opts_.ping_interval;
      // 2026-07-28 removed ping: a Modern server is asked server/discover.
      Outcome o = co_await c->request(c->modern() ? "server/discover" : "ping", {},
                                      std::chrono::milliseconds(10000));
      if (!o.ok() && c->alive()) {
        spdlog::warn("upstream {}: health ping failed ({}), restarting", opts_.name,
                     o.error().message);
        c->close("health ping failed: " + o.error().message);
      }
    }
  }
}

void Upstream::on_closed(const std::shared_ptr<McpClient>& c, std::string reason) {
  bool eager;
  std::function<void()> terminate;
  {
    std::lock_guard lk(mu_);
    if (client_ != c) return;
    client_.reset();
    abandoned_.clear();  // whatever ran on the server ended with it
    abandoned_overflow_until_ = {};
    terminate = std::move(terminate_);
    catalogue_.clear();
    admitted_.clear();
    withheld_.clear();
    listens_ = OpenListens{};  // they ended with the channel
    if (stopping_) {
      state_ = UpstreamState::kStopped;
    } else {
      state_ = UpstreamState::kBackoff;
      last_error_ = reason;
      note_error(reason);
      ++restarts_;
      retry_at_ = std::chrono::steady_clock::now() + backoff_;
      backoff_ = std::min(backoff_ * 2, opts_.restart_backoff_max);
    }
    eager = opts_.eager && !stopping_;
  }
  if (terminate) std::thread(std::move(terminate)).detach();
  if (!stopping_) spdlog::warn("upstream {}: exited: {}", opts_.name, reason);
  // Its tools drop out of every client's list until it is back.
  if (events_.catalogue_changed)
    for (Kind k : kKinds) events_.catalogue_changed(k);
  if (eager) {
    auto self = shared_from_this();
    asio::co_spawn(
        strand_,
        [self]() -> asio::awaitable<void> {
          asio::steady_timer t(self->strand_);
          {
            std::lock_guard lk(self->mu_);
            t.expires_at(self->retry_at_);
          }
          co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
          co_await self->ensure_started();
        },
        asio::detached);
  }
}

void Upstream::stop(std::string reason) {
  std::shared_ptr<McpClient> c;
  std::function<void()> terminate;
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    c = client_;
    terminate = std::move(terminate_);
  }
  if (c) c->close(reason);
  if (terminate) terminate();
  std::lock_guard lk(mu_);
  state_ = UpstreamState::kStopped;
  client_.reset();
}

void Upstream::resume() {
  std::lock_guard lk(mu_);
  stopping_ = false;
  backoff_ = opts_.restart_backoff;
  retry_at_ = {};
  if (!client_) state_ = UpstreamState::kStopped;
}

void Upstream::note_error(const std::string& what) {
  std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  errors_.push_back({now, what});
  if (errors_.size() > 10) errors_.erase(errors_.begin());
}

std::vector<UpstreamError> Upstream::errors() const {
  std::lock_guard lk(mu_);
  return errors_;
}

Upstream::Attribution Upstream::attribute(std::optional<std::int64_t> related) const {
  std::lock_guard lk(mu_);
  if (related) {
    // The transport says which request of ours it came with (a Streamable
    // HTTP response stream): exact. One of Bastion's own requests (a
    // listing, a ping) is no client's call.
    for (auto& [t, f] : flights_)
      if (f.upstream_id == *related) return f.attribution();
    return {Attribution::kNone, nullptr, nullptr, 0};
  }
  // stdio (and messages off any response stream) carry no relation. The one
  // safe inference: every call in flight belongs to one session, so whatever
  // the server means, it is that session's.
  const Flight* latest = nullptr;
  std::set<std::string_view> sessions;
  for (auto& [t, f] : flights_) {
    sessions.insert(f.ctx->session_id());
    if (!latest || f.upstream_id > latest->upstream_id) latest = &f;
  }
  if (!latest) return {Attribution::kNone, nullptr, nullptr, 0};
  // A call the server may still be running counts as in flight (it is never
  // the target: nobody waits for its answer).
  auto now = std::chrono::steady_clock::now();
  for (auto& [id, a] : abandoned_)
    if (a.until > now) sessions.insert(a.session);
  // Some were dropped at the cap: whose they were is unknown (at least one
  // other session, for the log line).
  if (abandoned_overflow_until_ > now)
    return {Attribution::kAmbiguous, nullptr, nullptr, std::max<std::size_t>(sessions.size(), 2)};
  if (sessions.size() > 1) return {Attribution::kAmbiguous, nullptr, nullptr, sessions.size()};
  return latest->attribution();
}

void Upstream::on_notification(json::object msg, std::optional<std::int64_t> related) {
  std::string method(msg.at("method").get_string());
  json::object* params = nullptr;
  if (auto* p = msg.if_contains("params"); p && p->is_object()) params = &p->get_object();
  if (method == "notifications/progress" && params) {
    // Tied to its call by our own progress token, whatever the transport.
    auto* tok = params->if_contains("progressToken");
    if (!tok) return;
    std::string key = tok->is_string() ? std::string(tok->get_string()) : json::serialize(*tok);
    std::shared_ptr<server::RequestContext> ctx;
    json::value client_token;
    {
      std::lock_guard lk(mu_);
      auto it = flights_.find(key);
      if (it == flights_.end()) return;
      ctx = it->second.target();
      // A Modern client's retry carries its own token (if any).
      client_token = it->second.bridged ? ctx->progress_token() : it->second.client_token;
    }
    if (client_token.is_null()) return;
    (*params)["progressToken"] = client_token;
    ctx->notify(std::move(msg));
    return;
  }
  if (method == "notifications/message" && params) {
    Attribution a = attribute(related);
    if (a.kind == Attribution::kCall) {
      auto* lvl = params->if_contains("level");
      auto level =
          lvl && lvl->is_string() ? server::parse_log_level(lvl->get_string()) : std::nullopt;
      // A Modern client's request says itself which lines it wants (none
      // without a logLevel); a Legacy upstream cannot be told per call.
      if (!a.ctx->wants_log(level)) return;
      a.ctx->notify(std::move(msg));
    } else if (a.kind == Attribution::kNone) {
      // Outside any call: to the sessions allowed to use this server (the
      // per-session instance's own session), never to everyone.
      if (events_.notify) events_.notify(std::move(msg));
    } else {
      // During calls of several sessions it may be about any of them.
      unattributed(method, a.sessions);
    }
    return;
  }
  if (on_listen_notification(msg, related)) return;
  if (method == "notifications/tools/list_changed" ||
      method == "notifications/prompts/list_changed" ||
      method == "notifications/resources/list_changed") {
    queue_refresh(method == "notifications/tools/list_changed"     ? Kind::kTool
                  : method == "notifications/prompts/list_changed" ? Kind::kPrompt
                                                                   : Kind::kResource);
    return;
  }
  if (method == "notifications/resources/updated" && params) {
    if (auto* uri = params->if_contains("uri"); uri && uri->is_string() && events_.resource_updated)
      events_.resource_updated(uri->get_string());
    return;
  }
}

void Upstream::queue_refresh(Kind k) {
  {
    std::lock_guard lk(mu_);
    if (refresh_running_.count(k)) {
      refresh_again_.insert(k);
      return;
    }
    refresh_running_.insert(k);
  }
  asio::co_spawn(
      strand_,
      [self = shared_from_this(), k]() -> asio::awaitable<void> {
        for (;;) {
          co_await self->refresh(k);
          if (k == Kind::kResource) co_await self->refresh(Kind::kResourceTemplate);
          std::lock_guard lk(self->mu_);
          if (!self->refresh_again_.erase(k)) {
            self->refresh_running_.erase(k);
            co_return;
          }
        }
      },
      asio::detached);
}

namespace {

constexpr std::size_t kMaxUpdatesPerSecond = 100;  // per upstream instance
// A listen that lived this long before it ended resets the reopen backoff.
constexpr std::chrono::seconds kSteadyListen{10};

bool capability_flag(const json::object& caps, std::string_view kind, std::string_view flag) {
  auto* k = caps.if_contains(kind);
  if (!k || !k->is_object()) return false;
  auto* f = k->get_object().if_contains(flag);
  return f && f->is_bool() && f->get_bool();
}

}  // namespace

bool Upstream::on_listen_notification(const json::object& msg,
                                      std::optional<std::int64_t> related) {
  using Verdict = OpenListens::Verdict;
  std::shared_ptr<McpClient> c;
  Verdict v;
  std::vector<std::int64_t> superseded;
  std::uint64_t dropped = 0;
  {
    std::lock_guard lk(mu_);
    c = client_;
    if (!c || !c->modern()) return false;
    v = listens_.judge(msg, related, watchers_);
    if (v.kind == Verdict::kOther) return false;
    if (v.kind == Verdict::kAcknowledged)
      if (auto g = listens_.generation_of(v.id)) superseded = listens_.older_than(*g);
    if (v.kind == Verdict::kResourceUpdated) {
      auto now = std::chrono::steady_clock::now();
      if (now - updates_window_ >= std::chrono::seconds(1)) {
        updates_window_ = now;
        updates_in_window_ = 0;
      }
      if (++updates_in_window_ > kMaxUpdatesPerSecond) {
        v.kind = Verdict::kDrop;
        v.why = fmt::format("over {} resource updates in a second", kMaxUpdatesPerSecond);
      }
    }
    if (v.kind == Verdict::kDrop) dropped = ++dropped_listen_;
  }
  switch (v.kind) {
    case Verdict::kDrop: {
      // Logged at 1, 2, 4, 8, ...: a flood cannot flood the log.
      bool log = (dropped & (dropped - 1)) == 0;
      if (log)
        spdlog::warn("upstream {}: {} not relayed: {} ({} refused so far)", opts_.name,
                     protocol::printable(msg.at("method").get_string()), v.why, dropped);
      return true;
    }
    case Verdict::kAcknowledged:
      spdlog::debug("upstream {}: subscriptions/listen {} acknowledged", opts_.name, v.id);
      for (auto id : superseded) c->cancel(id, "superseded by a listen for the current URIs");
      return true;
    case Verdict::kListChanged:
      queue_refresh(v.list);
      return true;
    case Verdict::kResourceUpdated:
      if (events_.resource_updated) events_.resource_updated(v.uri);
      return true;
    case Verdict::kOther:
      break;
  }
  return false;
}

void Upstream::open_listen(const std::shared_ptr<McpClient>& c) {
  std::uint64_t gen;
  {
    std::lock_guard lk(mu_);
    gen = ++listen_gen_;
  }
  asio::co_spawn(
      strand_, [self = shared_from_this(), c, gen] { return self->run_listen(c, gen); },
      asio::detached);
}

asio::awaitable<void> Upstream::run_listen(std::shared_ptr<McpClient> c, std::uint64_t gen) {
  const bool subscribe = capability_flag(c->server_capabilities(), "resources", "subscribe");
  std::vector<std::string> uris;
  if (subscribe) {
    std::lock_guard lk(mu_);
    uris = watchers_.uris();
  }
  json::object params = listen_params(uris, subscribe);
  const auto began = std::chrono::steady_clock::now();
  const auto ack_timeout = std::min(opts_.init_timeout, std::chrono::milliseconds(10000));
  std::int64_t id = 0;
  auto self = shared_from_this();
  // Open as long as the server keeps it: a day, then it is simply reopened.
  Outcome o = co_await c->request(
      "subscriptions/listen", std::move(params), std::chrono::hours(24), [&](std::int64_t i) {
        id = i;
        {
          std::lock_guard lk(mu_);
          listens_.opened(i, gen, uris);
        }
        // A server that never acknowledges holds no listen of ours open.
        asio::co_spawn(
            strand_,
            [self, c, i, ack_timeout]() -> asio::awaitable<void> {
              asio::steady_timer t(self->strand_, ack_timeout);
              co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
              bool stale;
              {
                std::lock_guard lk(self->mu_);
                stale = self->client_ == c && self->listens_.is_open(i) &&
                        !self->listens_.acknowledged(i);
              }
              if (!stale) co_return;
              spdlog::warn(
                  "upstream {}: subscriptions/listen not acknowledged within {} ms: "
                  "cancelled",
                  self->opts_.name, ack_timeout.count());
              c->cancel(i, "not acknowledged");
            },
            asio::detached);
      });
  bool acked = false, current;
  {
    std::lock_guard lk(mu_);
    current = client_ == c && !stopping_;
    if (current) {
      acked = listens_.acknowledged(id);
      listens_.closed(id);
    }
    current = current && gen == listen_gen_;
  }
  // Superseded, or the server is gone: a new start opens its own.
  if (!current || !c->alive()) co_return;
  std::chrono::milliseconds wait;
  {
    std::lock_guard lk(mu_);
    if (acked && std::chrono::steady_clock::now() - began >= kSteadyListen)
      listen_backoff_ = opts_.restart_backoff;
    wait = listen_backoff_;
    listen_backoff_ = std::min(listen_backoff_ * 2, opts_.restart_backoff_max);
  }
  spdlog::info("upstream {}: subscriptions/listen ended ({}): reopened in {} ms", opts_.name,
               o.ok() ? std::string("by the server") : o.error().message, wait.count());
  asio::steady_timer t(strand_, wait);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  {
    std::lock_guard lk(mu_);
    if (gen != listen_gen_ || client_ != c || stopping_) co_return;
  }
  if (c->alive()) open_listen(c);
}

void Upstream::watchers_changed() {
  std::shared_ptr<McpClient> c;
  {
    std::lock_guard lk(mu_);
    // Not running: the start opens a listen with the URIs watched by then.
    if (reopen_scheduled_ || !client_ || !client_->modern() || state_ != UpstreamState::kReady)
      return;
    reopen_scheduled_ = true;
    c = client_;
  }
  asio::co_spawn(
      strand_,
      [self = shared_from_this(), c]() -> asio::awaitable<void> {
        // Subscriptions in a row reopen once.
        asio::steady_timer t(self->strand_, std::chrono::milliseconds(20));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        {
          std::lock_guard lk(self->mu_);
          self->reopen_scheduled_ = false;
          if (self->client_ != c || self->stopping_) co_return;
        }
        if (c->alive()) self->open_listen(c);
      },
      asio::detached);
}

std::optional<RpcError> Upstream::watch(const std::string& who, const std::string& uri) {
  Watchers::Added a;
  {
    std::lock_guard lk(mu_);
    a = watchers_.watch(who, uri);
  }
  if (a == Watchers::Added::kTooMany)
    return RpcError{protocol::kResourceExhausted,
                    fmt::format("server '{}': too many resource subscriptions (at most {} URIs "
                                "in all and {} per client)",
                                opts_.name, WatchLimits{}.max_uris, WatchLimits{}.max_per_watcher)};
  if (a == Watchers::Added::kAdded) watchers_changed();
  return std::nullopt;
}

void Upstream::unwatch(const std::string& who, const std::string& uri) {
  bool shrank;
  {
    std::lock_guard lk(mu_);
    shrank = watchers_.unwatch(who, uri);
  }
  if (shrank) watchers_changed();
}

void Upstream::forget(const std::string& who) {
  bool shrank;
  {
    std::lock_guard lk(mu_);
    shrank = watchers_.forget(who);
  }
  if (shrank) watchers_changed();
}

void Upstream::adopt_watchers(Upstream& old) {
  if (&old == this) return;
  std::scoped_lock lk(mu_, old.mu_);
  watchers_ = old.watchers_;
}

bool Upstream::modern_only() const {
  std::lock_guard lk(mu_);
  return client_ && client_->modern();
}

bool Upstream::supports_subscribe() const {
  std::lock_guard lk(mu_);
  return client_ && capability_flag(client_->server_capabilities(), "resources", "subscribe");
}

std::size_t Upstream::open_listens() const {
  std::lock_guard lk(mu_);
  return listens_.size();
}

void Upstream::unattributed(std::string_view what, std::size_t sessions) {
  bool first;
  {
    std::lock_guard lk(mu_);
    first = !warned_unattributed_;
    warned_unattributed_ = true;
  }
  auto level = first ? spdlog::level::warn : spdlog::level::debug;
  spdlog::log(
      level,
      "upstream {}: {} sent while calls of {} sessions were in flight cannot be tied to one "
      "of them: not relayed (give the server `instances: per_session`, or use it from one "
      "session at a time)",
      opts_.name, what, sessions);
}

void Upstream::on_late_response(const std::shared_ptr<McpClient>& c, std::int64_t id) {
  std::lock_guard lk(mu_);
  if (client_ == c) abandoned_.erase(id);
}

asio::awaitable<Outcome> Upstream::on_request(std::string method, json::object params,
                                              std::optional<std::int64_t> related) {
  Attribution a = attribute(related);
  if (a.kind == Attribution::kAmbiguous) {
    unattributed(method, a.sessions);
    co_return RpcError{
        protocol::kInternalError,
        fmt::format("{} refused: calls of {} client sessions are in flight on this server and "
                    "the request cannot be tied to one of them (Bastion never guesses; configure "
                    "the server with `instances: per_session`)",
                    method, a.sessions)};
  }
  if (a.kind == Attribution::kNone)
    co_return RpcError{protocol::kInternalError,
                       fmt::format("{}: no client call is in progress to route it to", method)};
  if (auto why = relay_refusal(method, params, opts_.relay, a.ctx->client_capabilities())) {
    spdlog::info("upstream {}: {} refused: {}", opts_.name, method, *why);
    co_return RpcError{protocol::kMethodNotFound, fmt::format("{} refused: {}", method, *why)};
  }
  if (a.sink) co_return co_await a.sink->ask(std::move(method), std::move(params));
  co_return co_await a.ctx->client_request(method, std::move(params));
}

std::shared_ptr<server::RequestContext> Upstream::Flight::target() const {
  if (auto s = sink.lock())
    if (auto now = s->current()) return now;
  return ctx;
}

Upstream::Attribution Upstream::Flight::attribution() const {
  std::shared_ptr<InputSink> s = sink.lock();
  if (bridged && !s) return {Attribution::kNone, nullptr, nullptr, 0};
  return {Attribution::kCall, target(), std::move(s), 1};
}

namespace {
// Whether a running instance speaks Modern to `ctx`'s requests: a
// Modern-only server always, a dual-era one to a Modern client's request.
bool speaks_modern(const McpClient& c, const server::RequestContext& ctx) {
  return c.modern() || (ctx.modern() && !c.modern_version().empty());
}
}  // namespace

bool Upstream::modern_for(const server::RequestContext& ctx) const {
  std::lock_guard lk(mu_);
  return client_ && speaks_modern(*client_, ctx);
}

bool Upstream::legacy_for(const server::RequestContext& ctx) const {
  std::lock_guard lk(mu_);
  return client_ && !speaks_modern(*client_, ctx);
}

bool Upstream::has_parked_call() const {
  std::lock_guard lk(mu_);
  for (const auto& [token, f] : flights_)
    if (auto s = f.sink.lock(); s && s->waiting()) return true;
  auto now = std::chrono::steady_clock::now();
  if (abandoned_overflow_until_ > now) return true;
  for (const auto& [id, a] : abandoned_)
    if (a.until > now) return true;
  return false;
}

std::size_t Upstream::abandoned_calls() const {
  std::lock_guard lk(mu_);
  return abandoned_.size();
}

void Upstream::notify_server(std::string_view method) {
  std::shared_ptr<McpClient> c;
  {
    std::lock_guard lk(mu_);
    c = client_;
  }
  // Modern servers have no session to notify (roots come with each request).
  if (c && !c->modern()) c->notify(method, {});
}

namespace {

// Whether an error says the request never ran (kNotDelivered); strips the
// marker so no client sees it.
bool take_not_delivered(protocol::RpcError& e) {
  if (!e.data.is_object() || !e.data.get_object().contains(kNotDelivered)) return false;
  e.data = nullptr;
  return true;
}

}  // namespace

asio::awaitable<Outcome> Upstream::call(std::string_view method, json::object params,
                                        server::RequestContext& ctx,
                                        std::shared_ptr<InputSink> sink) {
  // A remote server restarted since the last call refuses our session (404)
  // without running the request: sent once more on a new session, which
  // needs the request's params (kept for remote servers only; a stdio
  // server's restart is a crash, which keeps its backoff).
  std::optional<json::object> again;
  if (!opts_.url.empty()) again = params;
  Outcome o = co_await call_once(method, std::move(params), ctx, sink);
  if (o.ok() || !take_not_delivered(o.error()) || !again) co_return o;
  {
    std::lock_guard lk(mu_);
    // Not a crash: no backoff before the new session.
    if (state_ == UpstreamState::kBackoff) retry_at_ = std::chrono::steady_clock::now();
  }
  spdlog::info("upstream {}: {} ({}): sending it again on a new session", opts_.name, method,
               o.error().message);
  Outcome second = co_await call_once(method, std::move(*again), ctx, sink);
  if (!second.ok()) take_not_delivered(second.error());
  co_return second;
}

asio::awaitable<Outcome> Upstream::call_once(std::string_view method, json::object params,
                                             server::RequestContext& ctx,
                                             std::shared_ptr<InputSink> sink) {
  auto c = co_await ensure_started();
  if (!c)
    co_return RpcError{protocol::kUpstreamUnavailable,
                       fmt::format("server '{}' is unavailable: {}", opts_.name, last_error())};
  std::string token;
  json::value client_token;
  {
    std::lock_guard lk(mu_);
    token = fmt::format("bastion-{}-{}", opts_.name, next_token_++);
    last_used_ = std::chrono::steady_clock::now();
  }
  if (c->modern() || (ctx.modern() && !c->modern_version().empty())) {
    // The upstream talks to Bastion: Bastion's version and identity, and the
    // client capabilities the relay setting lets through; the log level the
    // client asked for (Legacy: its session's), filtered again on the way back.
    std::string level = ctx.modern() ? ctx.modern()->log_level
                                     : std::string(server::to_string(ctx.session().log_level()));
    set_modern_meta(params, c->modern_version(), gateway_client_info(),
                    modern_client_capabilities(opts_.relay, ctx.client_capabilities()), level);
  } else {
    strip_modern_meta(params);
  }
  json::object* meta = nullptr;
  if (auto* m = params.if_contains("_meta"); m && m->is_object()) meta = &m->get_object();
  if (meta) {
    sanitize_trace_context(*meta);  // a malformed trace context is not relayed
    if (auto* t = meta->if_contains("progressToken")) {
      client_token = *t;
      (*meta)["progressToken"] = token;
    }
  }
  {
    std::lock_guard lk(mu_);
    flights_[token] = Flight{ctx.shared_from_this(), client_token, 0, sink, sink != nullptr};
  }
  Outcome o = co_await c->request(method, std::move(params), opts_.call_timeout,
                                  [this, &token](std::int64_t id) {
                                    std::lock_guard lk(mu_);
                                    flights_[token].upstream_id = id;
                                  });
  {
    std::lock_guard lk(mu_);
    auto f = flights_.extract(token);
    // Timed out or cancelled here: the server has not answered, and may go
    // on with it (cancellation is advisory). Not after a crash (kUpstream-
    // Unavailable): nothing runs on a server that is gone.
    if (!o.ok() && f && f.mapped().upstream_id != 0 && client_ == c &&
        (o.error().code == protocol::kRequestTimeout ||
         o.error().code == protocol::kRequestCancelled)) {
      auto now = std::chrono::steady_clock::now();
      std::erase_if(abandoned_, [now](const auto& e) { return e.second.until <= now; });
      if (abandoned_.size() >= kMaxAbandoned) {
        auto oldest = abandoned_.begin();  // ids only grow
        abandoned_overflow_until_ = std::max(abandoned_overflow_until_, oldest->second.until);
        abandoned_.erase(oldest);
      }
      abandoned_[f.mapped().upstream_id] =
          Abandoned{std::string(f.mapped().ctx->session_id()), now + kAbandonedLinger};
    }
  }
  // The session is gone: this client is done, whichever of its requests saw
  // it first (on_closed() runs now if the channel has not ended it yet).
  if (!o.ok() && o.error().data.is_object() && o.error().data.get_object().contains(kNotDelivered))
    c->close(o.error().message);
  co_return o;
}

}  // namespace bastion::gateway
