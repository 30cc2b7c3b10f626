// GatewayBackend: the registry of upstreams (shared, per-session
// instances), reload, the catalogue index that names every tool, prompt and
// resource once, route resolution and settling, and the tool-pinning watch.
// Over 500 lines for a reason: all of it reads and swaps the one registry
// and index under one mutex; the pure rules already live beside it
// (catalogue, definition, lint, pin_store, relay, era_wire). It is being
// changed for the 2026-07-28 translation right now; move reload and the
// pinning watch into files of their own once that has landed.
#include "gateway/gateway.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <set>
#include <utility>

#include "gateway/definition.hpp"
#include "gateway/lint.hpp"
#include "protocol/printable.hpp"
#include "protocol/uri_template.hpp"

namespace bastion::gateway {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::Outcome;
using server::Kind;

GatewayBackend::GatewayBackend(asio::any_io_executor ex, std::vector<UpstreamOptions> upstreams,
                               GatewayOptions options)
    : ex_(ex),
      opts_(std::move(options)),
      bridge_(std::make_shared<EraBridge>(ex, opts_.era_bridge)),
      legacy_tasks_(std::make_shared<LegacyTasks>(ex, opts_.legacy_tasks)),
      task_ids_(opts_.task_ids ? opts_.task_ids
                               : protocol::StateSealer::random(std::chrono::hours(24))) {
  if (!opts_.pins_dir.empty()) pins_ = std::make_shared<PinStore>(opts_.pins_dir);
  for (auto& o : upstreams) upstreams_.push_back(make_upstream(o));
}

std::vector<std::shared_ptr<Upstream>> GatewayBackend::snapshot() const {
  std::shared_lock lk(topo_mu_);
  return upstreams_;
}

std::vector<std::shared_ptr<Upstream>> GatewayBackend::upstreams() const { return snapshot(); }

std::shared_ptr<Upstream> GatewayBackend::make_upstream(const UpstreamOptions& o,
                                                        const std::string& session) {
  Upstream::Events ev;
  ev.resolve_secret = opts_.secrets;
  // The gateway owns its upstreams and stops them before it goes away.
  auto* self = this;
  // Only the sessions allowed to use the server hear that its lists changed
  // (every session sees a per-session server's list, from any instance).
  ev.catalogue_changed = [self, name = o.name](Kind k) {
    self->rebuild_index();
    if (self->listener_)
      self->listener_->list_changed(k == Kind::kResourceTemplate ? Kind::kResource : k,
                                    server::Audience{name, {}});
  };
  // A per-session instance speaks to its session only; a shared one to the
  // sessions allowed to use its server.
  ev.resource_updated = [self, server = o.name, session](std::string_view uri) {
    // Only for a URI this server owns: no server can make another's
    // subscribers re-read.
    auto claimants = self->uri_claimants(uri);
    if (claimants.size() != 1 || claimants.front()->name() != server) {
      spdlog::debug("upstream {}: resources/updated for '{}', which it does not own: dropped",
                    server, protocol::printable(uri));
      return;
    }
    if (self->listener_) self->listener_->resource_updated({server, session}, uri);
  };
  ev.notify = [self, server = o.name, session](json::object n) {
    if (self->listener_) self->listener_->notify({server, session}, std::move(n));
  };
  ev.catalogue_note = [self, server = o.name](const CatalogueNote& n) { self->note(server, n); };
  if (o.pinning != PinMode::kOff || o.lint != LintMode::kOff)
    ev.vet = [self, o](Kind k, const std::vector<CatalogueEntry>& entries, bool record) {
      return self->vet(o, k, entries, record);
    };
  return std::make_shared<Upstream>(ex_, o, std::move(ev), opts_.channel_factory);
}

std::size_t GatewayBackend::running_instances() const {
  std::size_t n = 0;
  for (auto& u : snapshot())
    if (!u->options().per_session && u->state() != UpstreamState::kStopped) ++n;
  std::lock_guard lk(instances_mu_);
  for (auto& [proto, m] : per_session_)
    for (auto& [s, u] : m)
      if (u->state() != UpstreamState::kStopped) ++n;
  return n;
}

std::shared_ptr<Upstream> GatewayBackend::instance(const std::shared_ptr<Upstream>& proto,
                                                   const std::string& session, std::string* why,
                                                   std::optional<RelayOptions> declare) {
  bool running =
      proto->state() == UpstreamState::kReady || proto->state() == UpstreamState::kStarting;
  if (!proto->options().per_session) {
    if (!running && running_instances() >= opts_.max_processes) {
      if (why)
        *why =
            fmt::format("the gateway runs its maximum of {} server processes", opts_.max_processes);
      return nullptr;
    }
    return proto;
  }
  std::size_t total = running_instances();
  std::lock_guard lk(instances_mu_);
  auto& m = per_session_[proto.get()];
  if (auto it = m.find(session); it != m.end()) return it->second;
  if (m.size() >= proto->options().max_instances) {
    if (why)
      *why = fmt::format("server '{}' already runs its maximum of {} per-session instances",
                         proto->name(), proto->options().max_instances);
    return nullptr;
  }
  if (total >= opts_.max_processes) {
    if (why)
      *why =
          fmt::format("the gateway runs its maximum of {} server processes", opts_.max_processes);
    return nullptr;
  }
  UpstreamOptions o = proto->options();
  if (declare && *declare != o.relay) o.declare = declare;
  auto u = make_upstream(o, session);
  m.emplace(session, u);
  return u;
}

namespace {

// A capability-set instance left unused this long stops (unless the server
// configures its own idle_shutdown); the next request of its set starts it.
constexpr std::chrono::minutes kCapabilitySetIdle{5};
// Its key among the per-session instances (no session id has a '|'); slot
// n > 0: the n-th extra instance of the set on a stdio server.
std::string capability_set_key(const RelayOptions& declared, std::size_t slot) {
  std::string key = "capabilities|" + capability_set_name(declared);
  if (slot > 0) key += fmt::format("|{}", slot);
  return key;
}

// A call whose instance could not be made ready (it failed to start, or is
// in its backoff): the reason the instance last gave.
protocol::RpcError unavailable(const Upstream& u) {
  return {protocol::kUpstreamUnavailable,
          fmt::format("server '{}' is unavailable: {}", u.name(), u.last_error())};
}

}  // namespace

bool GatewayBackend::resumes_bridged(const std::shared_ptr<Upstream>& proto,
                                     const server::RequestContext& ctx) {
  const json::value& st = ctx.request_state();
  return proto->options().per_session && ctx.modern() && st.is_object() &&
         st.get_object().contains("b");
}

std::optional<RelayOptions> GatewayBackend::declare_for(const std::shared_ptr<Upstream>& proto,
                                                        const server::RequestContext& ctx) {
  if (!proto->options().per_session || !ctx.modern()) return std::nullopt;
  return declared_for(proto->options().relay, ctx.client_capabilities());
}

asio::awaitable<std::shared_ptr<Upstream>> GatewayBackend::capability_instance(
    const std::shared_ptr<Upstream>& proto, std::shared_ptr<Upstream> u,
    server::RequestContext& ctx) {
  const UpstreamOptions& po = proto->options();
  const RelayOptions declared = declared_for(po.relay, ctx.client_capabilities());
  // Over stdio nothing ties a server's request to a call: beside a call that
  // waits for its client's answer (maybe for minutes) or one Bastion gave up
  // on (Upstream::has_parked_call), a new call would make every request of
  // that server ambiguous, so it goes to an instance of its set where none
  // is. Over HTTP the response stream ties them exactly. A retry continues
  // its waiting call wherever that runs (era_bridge), and must not count it
  // as another's. Only the sealed requestState makes a retry: answers without
  // one start a new Legacy call (EraBridge::bridged), which is placed as any.
  const bool retry = !ctx.request_state().is_null();
  const bool stdio = po.url.empty() && !retry;
  const bool full = declared == po.relay;  // the shared instance's own set
  if (full && !(stdio && u->has_parked_call())) co_return u;
  std::shared_ptr<Upstream> mine, fallback = full ? u : nullptr;
  {
    std::size_t total = running_instances();
    std::lock_guard lk(instances_mu_);
    auto& m = per_session_[proto.get()];
    std::size_t slot = full ? 1 : 0;  // slot 0 of the full set is the shared instance
    for (;; ++slot) {
      auto it = m.find(capability_set_key(declared, slot));
      if (it == m.end()) break;
      if (!fallback) fallback = it->second;
      if (!stdio || !it->second->has_parked_call()) {
        mine = it->second;
        break;
      }
    }
    if (!mine && total < opts_.max_processes && m.size() < po.max_instances) {
      UpstreamOptions o = po;
      o.declare = declared;
      o.era = UpstreamEra::kLegacy;  // known: the shared instance is Legacy-only
      o.eager = false;
      if (o.idle_shutdown.count() == 0) o.idle_shutdown = kCapabilitySetIdle;
      mine = make_upstream(o);
      m.emplace(capability_set_key(declared, slot), mine);
      spdlog::info("upstream {}: a session for Modern requests declaring {}{}", po.name,
                   capability_set_name(declared),
                   slot > 0 ? fmt::format(" (#{}: the others wait for their clients)", slot + 1)
                            : std::string());
    }
  }
  if (!mine) {
    // At a bound: the set's first instance, else the shared one (wider than
    // the client declared; relay_refusal still guards what reaches it).
    spdlog::debug("upstream {}: at its instance bound, a request declaring {} shares a session",
                  po.name, capability_set_name(declared));
    co_return fallback ? fallback : u;
  }
  if (mine->state() != UpstreamState::kReady) co_await mine->ensure_started();
  co_return mine;
}

std::shared_ptr<Upstream> GatewayBackend::catalogue_source(
    const std::shared_ptr<Upstream>& proto) const {
  if (!proto->options().per_session) return proto;
  std::lock_guard lk(instances_mu_);
  if (auto it = per_session_.find(proto.get()); it != per_session_.end())
    for (auto& [s, u] : it->second)
      if (u->state() == UpstreamState::kReady) return u;
  return proto;
}

void GatewayBackend::on_client_notification(std::string_view session_id, const json::object& msg) {
  auto* m = msg.if_contains("method");
  if (!m || !m->is_string() || m->get_string() != "notifications/roots/list_changed") return;
  // The session's roots changed: its own instances hear it (a shared
  // instance serves other clients whose roots did not change).
  std::vector<std::shared_ptr<Upstream>> mine;
  {
    std::lock_guard lk(instances_mu_);
    for (auto& [proto, m2] : per_session_)
      if (auto it = m2.find(std::string(session_id)); it != m2.end()) mine.push_back(it->second);
  }
  for (auto& u : mine)
    if (u->options().relay.roots) u->notify_server("notifications/roots/list_changed");
}

std::shared_ptr<void> GatewayBackend::keep_instance(const std::shared_ptr<Upstream>& u) {
  if (!u->options().per_session) return nullptr;
  {
    std::lock_guard lk(instances_mu_);
    ++kept_[u.get()].holds;
  }
  // Points at the instance but owns nothing of it: the deleter only lets go.
  return std::shared_ptr<void>(u.get(), [weak = weak_from_this(), u](void*) {
    if (auto self = weak.lock()) self->let_go(u);
  });
}

void GatewayBackend::let_go(const std::shared_ptr<Upstream>& u) {
  {
    std::lock_guard lk(instances_mu_);
    auto it = kept_.find(u.get());
    if (it == kept_.end() || --it->second.holds > 0) return;
    const bool orphaned = it->second.orphaned;
    kept_.erase(it);
    // Taken out already (a reload, an operator's stop) or its session still
    // runs: not ours to stop.
    if (!orphaned || !drop_instance(u.get())) return;
  }
  stop_later({u}, "its last waiting round or task ended");
}

bool GatewayBackend::drop_instance(const Upstream* u) {
  for (auto& [proto, m] : per_session_)
    for (auto it = m.begin(); it != m.end(); ++it)
      if (it->second.get() == u) {
        m.erase(it);
        return true;
      }
  return false;
}

void GatewayBackend::on_session_closed(std::string_view session_id) {
  std::vector<std::shared_ptr<Upstream>> gone;
  {
    std::lock_guard lk(instances_mu_);
    for (auto& [proto, m] : per_session_)
      if (auto it = m.find(std::string(session_id)); it != m.end()) {
        // Still kept (a Modern request's call waits for its client, or runs
        // as a task): it stops when the last keeper lets go.
        if (auto k = kept_.find(it->second.get()); k != kept_.end()) {
          k->second.orphaned = true;
          continue;
        }
        gone.push_back(it->second);
        m.erase(it);
      }
  }
  stop_later(std::move(gone), "client session closed");
  // What it subscribed to on shared servers is no longer wanted.
  const std::string who = "session:" + std::string(session_id);
  for (auto& u : snapshot()) u->forget(who);
}

void GatewayBackend::on_listen(std::string_view key, const std::vector<server::Route>& routes) {
  const std::string who = "listen:" + std::string(key);
  for (auto& r : routes) {
    // A per-session server's instances belong to Legacy sessions: a
    // Modern listen (no session) has none to ask.
    auto u = std::static_pointer_cast<Upstream>(r.target);
    if (!u || u->options().per_session) continue;
    if (auto e = u->watch(who, r.name.empty() ? r.key : r.name))
      spdlog::warn("upstream {}: a listen's resource '{}' is not watched: {}", u->name(),
                   protocol::printable(r.key), e->message);
  }
}

void GatewayBackend::on_listen_closed(std::string_view key) {
  const std::string who = "listen:" + std::string(key);
  for (auto& u : snapshot()) u->forget(who);
}

void GatewayBackend::stop_later(std::vector<std::shared_ptr<Upstream>> gone, std::string reason) {
  if (gone.empty()) return;
  asio::post(stopper_, [gone = std::move(gone), reason = std::move(reason)] {
    for (auto& u : gone) u->stop(reason);
  });
}

bool GatewayBackend::stop_server(const std::string& name) {
  for (auto& u : snapshot()) {
    if (u->name() != name) continue;
    auto gone = take_instances(u);
    gone.push_back(u);
    stop_later(std::move(gone), "stopped by an operator");
    return true;
  }
  return false;
}

asio::awaitable<void> GatewayBackend::start_again(std::shared_ptr<Upstream> u) {
  co_await u->ensure_started();
}

bool GatewayBackend::restart_server(const std::string& name) {
  for (auto& u : snapshot()) {
    if (u->name() != name) continue;
    auto gone = take_instances(u);
    auto ex = ex_;
    // Stopping waits for the process: off the I/O threads, then start it.
    asio::post(stopper_, [u, gone = std::move(gone), ex] {
      for (auto& i : gone) i->stop("restarted by an operator");
      u->stop("restarted by an operator");
      u->resume();
      if (!u->options().per_session) asio::co_spawn(ex, start_again(u), asio::detached);
    });
    return true;
  }
  return false;
}

GatewayBackend::~GatewayBackend() { shutdown(); }

void GatewayBackend::start() {
  // Containers of ours that outlived a crashed bastion go first.
  std::set<std::pair<std::string, std::string>> docker_instances;
  auto all = snapshot();
  std::set<std::string> cgroup_roots;
  for (auto& u : all) {
    const auto& sb = u->options().sandbox;
    if (!u->options().url.empty()) continue;
    if (sb.runtime == sandbox::RuntimeKind::kDocker && sb.container.empty())
      docker_instances.emplace(sb.docker_bin, sb.instance);
    if (sb.runtime != sandbox::RuntimeKind::kDocker) cgroup_roots.insert(sb.cgroup_root);
  }
  for (auto& [bin, inst] : docker_instances) sandbox::remove_stale_containers(bin, inst);
  // So are the cgroups of a bastion that was killed (its servers died with it).
  for (auto& root : cgroup_roots) sandbox::remove_stale_cgroups(root, sandbox::Host::system());
  // The linter's patterns, ready before a lazily started server's first
  // call needs them (loaded from the cache, or compiled there once).
  // The directory is set here, before any server starts (and whether or not
  // one lints yet: a server a reload adds uses it too): an eager one that
  // lints before the pool gets to it loads (or stores) the cache as well.
  set_lint_cache_dir(opts_.lint_cache_dir);
  prepare_lint_if_needed(all);
  for (auto& u : all) start_if_eager(u);
  if (pins_ && !weak_from_this().expired()) {
    auto strand = asio::make_strand(ex_);
    pin_timer_ = std::make_shared<asio::steady_timer>(strand);
    asio::co_spawn(strand, watch_pins(weak_from_this(), pin_timer_, opts_.pins_poll),
                   asio::detached);
  }
}

void GatewayBackend::prepare_lint_if_needed(const std::vector<std::shared_ptr<Upstream>>& ups) {
  if (std::none_of(ups.begin(), ups.end(),
                   [](const auto& u) { return u->options().lint != LintMode::kOff; }))
    return;
  // Once the patterns are ready this returns at once (std::call_once).
  asio::post(stopper_, [] {
    try {
      prepare_lint();
    } catch (const std::exception& e) {
      spdlog::error("lint: {}", e.what());
    }
  });
}

void GatewayBackend::start_if_eager(const std::shared_ptr<Upstream>& u) {
  if (u->options().eager && !u->options().per_session)
    asio::co_spawn(
        ex_, [u]() -> asio::awaitable<void> { co_await u->ensure_started(); }, asio::detached);
}

std::vector<std::shared_ptr<Upstream>> GatewayBackend::take_instances(
    const std::shared_ptr<Upstream>& proto) {
  std::vector<std::shared_ptr<Upstream>> mine;
  std::lock_guard lk(instances_mu_);
  if (auto it = per_session_.find(proto.get()); it != per_session_.end()) {
    for (auto& [s, u] : it->second) mine.push_back(u);
    per_session_.erase(it);
  }
  return mine;
}

GatewayBackend::ReloadReport GatewayBackend::reload(std::vector<UpstreamOptions> next) {
  ReloadReport report;
  std::vector<std::shared_ptr<Upstream>> keep, gone;
  {
    std::unique_lock lk(topo_mu_);
    std::map<std::string, std::shared_ptr<Upstream>> current;
    for (auto& u : upstreams_) current[u->name()] = u;
    for (auto& o : next) {
      auto it = current.find(o.name);
      if (it != current.end() && it->second->options().fingerprint == o.fingerprint) {
        keep.push_back(it->second);  // unchanged: keeps running, sessions untouched
        current.erase(it);
        report.unchanged.push_back(o.name);
        continue;
      }
      keep.push_back(make_upstream(o));
      if (it != current.end()) {
        // What clients watch there stays watched on the new configuration.
        keep.back()->adopt_watchers(*it->second);
        gone.push_back(it->second);
        current.erase(it);
        report.changed.push_back(o.name);
      } else {
        report.added.push_back(o.name);
      }
    }
    for (auto& [name, u] : current) {
      gone.push_back(u);
      report.removed.push_back(name);
    }
    upstreams_ = keep;
  }
  // Old processes stop off the I/O threads; new eager ones start now.
  std::vector<std::shared_ptr<Upstream>> stopping;
  for (auto& u : gone) {
    stopping.push_back(u);
    for (auto& i : take_instances(u)) stopping.push_back(i);
  }
  stop_later(std::move(stopping), "configuration reloaded");
  prepare_lint_if_needed(keep);  // a first server that lints, added by this reload
  for (auto& u : keep) start_if_eager(u);
  rebuild_index();
  if (listener_ && (!report.added.empty() || !report.changed.empty() || !report.removed.empty())) {
    listener_->list_changed(Kind::kTool);
    listener_->list_changed(Kind::kResource);
    listener_->list_changed(Kind::kPrompt);
  }
  return report;
}

void GatewayBackend::shutdown() {
  shut_ = true;
  bridge_->shutdown();
  legacy_tasks_->shutdown();
  if (pin_timer_) asio::post(pin_timer_->get_executor(), [t = pin_timer_] { t->cancel(); });
  for (auto& u : snapshot()) u->stop("gateway shutdown");
  std::map<const Upstream*, std::map<std::string, std::shared_ptr<Upstream>>> all;
  {
    std::lock_guard lk(instances_mu_);
    all.swap(per_session_);
  }
  for (auto& [proto, m] : all)
    for (auto& [s, u] : m) u->stop("gateway shutdown");
  stopper_.join();  // stops queued by session closes and reloads finish first
}

json::object GatewayBackend::capabilities() const {
  // Advertised up front: upstreams may start later, and the gateway relays
  // whatever they support.
  return {{"tools", json::object{{"listChanged", true}}},
          {"resources", json::object{{"subscribe", true}, {"listChanged", true}}},
          {"prompts", json::object{{"listChanged", true}}},
          {"completions", json::object{}}};
}

void GatewayBackend::rebuild_index() {
  std::map<std::string, std::vector<std::shared_ptr<Upstream>>, std::less<>> resources;
  std::vector<std::pair<std::string, std::shared_ptr<Upstream>>> templates;
  for (auto& proto : snapshot()) {
    auto u = catalogue_source(proto);
    for (auto& r : u->catalogue(Kind::kResource)) {
      auto& owners = resources[r.original];
      if (std::find(owners.begin(), owners.end(), proto) == owners.end()) owners.push_back(proto);
    }
    for (auto& r : u->catalogue(Kind::kResourceTemplate)) templates.emplace_back(r.original, proto);
  }
  std::unique_lock lk(mu_);
  resources_ = std::move(resources);
  templates_ = std::move(templates);
}

namespace {

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::kTool:
      return "tool";
    case Kind::kPrompt:
      return "prompt";
    case Kind::kResource:
      return "resource";
    case Kind::kResourceTemplate:
      return "resource template";
  }
  return "?";
}

protocol::RpcError unknown(Kind kind, std::string_view key) {
  if (kind == Kind::kTool) return protocol::invalid_params("Unknown tool: " + std::string(key));
  if (kind == Kind::kPrompt) return protocol::invalid_params("Unknown prompt: " + std::string(key));
  return protocol::RpcError{protocol::kResourceNotFound, "Resource not found",
                            json::object{{"uri", key}}};
}

std::string names_of(const std::vector<std::shared_ptr<Upstream>>& servers) {
  std::string out;
  for (auto& s : servers) out += (out.empty() ? "" : ", ") + s->name();
  return out;
}

protocol::RpcError ambiguous(std::string_view uri,
                             const std::vector<std::shared_ptr<Upstream>>& claimants) {
  json::array servers;
  for (auto& c : claimants) servers.push_back(json::string(c->name()));
  return protocol::RpcError{
      protocol::kResourceNotFound,
      fmt::format("Resource not served: several servers claim it ({}), and Bastion does not "
                  "guess which one is meant",
                  names_of(claimants)),
      json::object{{"uri", uri}, {"servers", std::move(servers)}}};
}

}  // namespace

bool GatewayBackend::first_report(std::string key) const {
  std::lock_guard lk(reported_mu_);
  if (reported_.size() >= 10000) return false;  // a hostile catalogue cannot grow it forever
  return reported_.insert(std::move(key)).second;
}

void GatewayBackend::note(const std::string& server, const CatalogueNote& n) const {
  if (!first_report(
          fmt::format("note|{}|{}|{}|{}", server, static_cast<int>(n.kind), n.name, n.reason)))
    return;
  spdlog::warn("upstream {}: {} '{}' {}: {}", server, kind_name(n.kind), n.name,
               n.refused ? "refused" : "changed", n.reason);
  if (opts_.audit)
    opts_.audit(
        json::object{{"event_type", n.refused ? "upstream_item_refused" : "upstream_item_changed"},
                     {"server", server},
                     {"kind", kind_name(n.kind)},
                     {"name", n.name},
                     {"reason", n.reason}});
}

void GatewayBackend::conflict(Kind kind, std::string_view key,
                              const std::vector<std::shared_ptr<Upstream>>& servers,
                              std::string_view resolution) const {
  std::string shown = protocol::printable(key);
  if (!first_report(
          fmt::format("conflict|{}|{}|{}", static_cast<int>(kind), shown, names_of(servers))))
    return;
  spdlog::warn("gateway: {} '{}' is claimed by servers {}: {}", kind_name(kind), shown,
               names_of(servers), resolution);
  if (opts_.audit) {
    json::array names;
    for (auto& s : servers) names.push_back(json::string(s->name()));
    opts_.audit(json::object{{"event_type", "upstream_name_conflict"},
                             {"kind", kind_name(kind)},
                             {"key", shown},
                             {"servers", std::move(names)},
                             {"resolution", resolution}});
  }
}

std::shared_ptr<Upstream> GatewayBackend::namespace_of(
    std::string_view name, const std::shared_ptr<Upstream>& self) const {
  for (auto& u : snapshot())
    if (u != self && under_prefix(name, u->options().prefix)) return u;
  return nullptr;
}

asio::awaitable<std::vector<server::Listed>> GatewayBackend::list(Kind kind,
                                                                  server::RequestContext& ctx) {
  std::vector<server::Listed> out;
  auto protos = snapshot();
  // Start every lazy upstream at once; the loop below then waits for each.
  for (auto& proto : protos)
    if (auto u = instance(proto, ctx.session_id(), nullptr, declare_for(proto, ctx));
        u && u->state() != UpstreamState::kReady)
      asio::co_spawn(
          ex_, [u]() -> asio::awaitable<void> { co_await u->ensure_started(); }, asio::detached);
  std::vector<std::shared_ptr<Upstream>> ready;
  for (auto& proto : protos) {
    auto u = instance(proto, ctx.session_id(), nullptr, declare_for(proto, ctx));
    if (!u) continue;
    // Lazy upstreams start on first use; a broken one is skipped (its tools
    // are simply absent) and the others still answer.
    if (u->state() != UpstreamState::kReady) co_await u->ensure_started();
    if (u->state() == UpstreamState::kReady) ready.push_back(u);
  }
  check_pins();  // an operator's decision shows in the next list
  rebuild_index();
  for (auto& u : ready) {
    std::shared_ptr<Upstream> proto;
    for (auto& p : protos)
      if (p->name() == u->name()) proto = p;
    if (!proto) continue;  // reloaded away meanwhile
    const bool unprefixed = u->options().prefix.empty();
    for (auto& e : u->catalogue(kind)) {
      if ((kind == Kind::kTool || kind == Kind::kPrompt) && unprefixed) {
        if (auto owner = namespace_of(e.exposed, proto)) {
          conflict(kind, e.exposed, {proto, owner},
                   fmt::format("left out: the name lies in {}'s namespace", owner->name()));
          continue;
        }
      }
      if (kind == Kind::kResource || kind == Kind::kResourceTemplate) {
        auto claimants = uri_claimants(e.original);
        if (claimants.size() > 1) {
          conflict(kind, e.original, claimants, "neither listed nor served");
          continue;
        }
      }
      out.push_back(server::Listed{std::move(e.item), proto->name(), std::move(e.original)});
    }
  }
  co_return out;
}

std::shared_ptr<Upstream> GatewayBackend::name_owner(std::string_view key) const {
  std::shared_ptr<Upstream> unprefixed;
  for (auto& u : snapshot()) {
    const auto& p = u->options().prefix;
    if (p.empty()) {
      if (!unprefixed) unprefixed = u;
    } else if (under_prefix(key, p)) {
      return u;
    }
  }
  return unprefixed;
}

std::vector<std::shared_ptr<Upstream>> GatewayBackend::uri_claimants(std::string_view uri) const {
  std::vector<std::shared_ptr<Upstream>> out;
  std::shared_lock lk(mu_);
  if (auto it = resources_.find(uri); it != resources_.end()) out = it->second;
  for (auto& [pattern, proto] : templates_)
    if ((pattern == uri || protocol::match_uri_template(pattern, uri, nullptr)) &&
        std::find(out.begin(), out.end(), proto) == out.end())
      out.push_back(proto);
  return out;
}

std::optional<server::Route> GatewayBackend::resolve(Kind kind, std::string_view key) const {
  server::Route r;
  r.kind = kind;
  r.key = std::string(key);
  r.settled = false;  // settle() picks the instance for the session
  std::shared_ptr<Upstream> owner;
  if (kind == Kind::kTool || kind == Kind::kPrompt) {
    // By prefix alone: nothing another server lists can change who owns it.
    owner = name_owner(key);
    if (!owner) return std::nullopt;
    const auto& p = owner->options().prefix;
    auto original = catalogue_source(owner)->original_of(kind, key);
    // Not listed yet: the name under the prefix (settle() checks it).
    r.name = original ? *original
                      : std::string(p.empty() ? key : key.substr(p.size() + kSeparator.size()));
  } else {
    auto claimants = uri_claimants(key);
    if (claimants.size() > 1) {
      r.server = claimants.front()->name();
      r.name = r.key;
      r.refusal = ambiguous(key, claimants);
      conflict(kind, key, claimants, "read refused");
      return r;
    }
    if (claimants.empty()) {
      // The unprefixed server may serve it once it has listed.
      for (auto& u : snapshot())
        if (u->options().prefix.empty() && u->state() != UpstreamState::kReady) owner = u;
      if (!owner) return std::nullopt;
    } else {
      owner = claimants.front();
    }
    r.name = r.key;
  }
  r.server = owner->name();
  r.target = owner;
  return r;
}

std::vector<protocol::ParamHeader> GatewayBackend::param_headers(const server::Route& route) const {
  // Settled: the target is the instance serving the call, listed.
  if (route.kind != Kind::kTool || !route.settled || !route.target) return {};
  return std::static_pointer_cast<Upstream>(route.target)->param_headers(route.key);
}

bool GatewayBackend::may_ask_input(const server::Route& route,
                                   const server::RequestContext& ctx) const {
  if (!route.target) return true;
  return !std::static_pointer_cast<Upstream>(route.target)->legacy_for(ctx);
}

asio::awaitable<server::Settled> GatewayBackend::settle(server::Route route,
                                                        server::RequestContext& ctx) {
  auto proto = std::static_pointer_cast<Upstream>(route.target);
  std::string why;
  std::shared_ptr<Upstream> u;
  if (resumes_bridged(proto, ctx)) {
    // A Modern retry continues its call on the instance where it waits,
    // which its first request's end left running (keep_instance).
    auto at = bridge_->waiting_at(kind_label(route.kind), ctx);
    if (!at) co_return at.error();
    if (at.value()->name() != proto->name()) co_return unknown(route.kind, route.key);
    u = at.value();
  } else {
    u = instance(proto, ctx.session_id(), &why, declare_for(proto, ctx));
  }
  if (!u) co_return protocol::RpcError{protocol::kUpstreamUnavailable, why};
  if (u->state() != UpstreamState::kReady) {
    co_await u->ensure_started();
    rebuild_index();
    if (u->state() != UpstreamState::kReady)
      co_return unavailable(*u);
  }
  // A Modern request to a Legacy-only shared instance: the session of its
  // capability set.
  if (!proto->options().per_session && ctx.modern() && !u->modern_for(ctx)) {
    u = co_await capability_instance(proto, u, ctx);
    if (u->state() != UpstreamState::kReady)
      co_return unavailable(*u);
  }
  // The instance that will serve the call must really have it.
  if (route.kind == Kind::kTool || route.kind == Kind::kPrompt) {
    auto original = u->original_of(route.kind, route.key);
    if (!original) {
      // Only a call that fails anyway looks at the pins: a listed tool's
      // call pays nothing for them.
      if (auto why = u->withheld_reason(route.kind, route.key)) {
        if (opts_.audit)
          opts_.audit(json::object{{"event_type", "pin_call_refused"},
                                   {"server", u->name()},
                                   {"kind", kind_label(route.kind)},
                                   {"name", route.key},
                                   {"session", ctx.session_id()},
                                   {"reason", *why}});
        co_return protocol::RpcError{
            protocol::kPolicyRejected,
            fmt::format("{} '{}' of server '{}' is quarantined by Bastion: {}",
                        kind_label(route.kind), route.key, u->name(), *why),
            json::object{{"quarantined", true}, {"server", u->name()}}};
      }
      co_return unknown(route.kind, route.key);
    }
    route.name = *original;
  } else {
    auto claimants = uri_claimants(route.key);
    if (claimants.size() > 1) {
      conflict(route.kind, route.key, claimants, "read refused");
      co_return ambiguous(route.key, claimants);
    }
    if (claimants.empty() || claimants.front() != proto) co_return unknown(route.kind, route.key);
  }
  route.target = u;
  route.settled = true;
  co_return route;
}

asio::awaitable<Outcome> GatewayBackend::call(const server::Route& route, std::string_view method,
                                              json::object params, server::RequestContext& ctx) {
  if (method == "resources/subscribe" || method == "resources/unsubscribe") {
    auto u = std::static_pointer_cast<Upstream>(route.target);
    const std::string who = "session:" + ctx.session_id();
    const std::string& uri = route.name.empty() ? route.key : route.name;
    // A Legacy server's subscription is left in place (others may still
    // watch it); a Modern one hears the URI in Bastion's listen while
    // someone watches it.
    if (method == "resources/unsubscribe") {
      u->unwatch(who, uri);
      co_return json::object{};
    }
    if (co_await u->ensure_started() && u->modern_only()) {
      // 2026-07-28 has no resources/subscribe: Bastion answers it and adds
      // the URI to the listen it holds open to the server.
      if (!u->supports_subscribe())
        co_return protocol::RpcError{
            protocol::kMethodNotFound,
            fmt::format("server '{}' does not offer resource subscriptions", u->name())};
      if (auto e = u->watch(who, uri)) co_return *e;
      co_return json::object{};
    }
  }
  if (route.kind == Kind::kTool || route.kind == Kind::kPrompt) {
    if (method == "completion/complete")
      params["ref"].get_object()["name"] = route.name;
    else
      params["name"] = route.name;
  }
  auto u = std::static_pointer_cast<Upstream>(route.target);
  // A Modern client's call of a tool the operator offers as a task, at a
  // Legacy instance: a task of Bastion's own (legacy_tasks.hpp). Not for a
  // retry carrying a requestState or answers: that is a bridged call's.
  if (method == "tools/call" && ctx.modern() && ctx.request_state().is_null() &&
      !ctx.input_responses() && !u->modern_for(ctx)) {
    const auto& modes = u->options().tasks;
    if (auto m = modes.find(route.name); m != modes.end()) {
      if (server::declares_tasks(ctx.client_capabilities())) {
        Outcome created =
            legacy_tasks_->start(u, route.name, std::move(params), ctx, keep_instance(u));
        if (!created.ok()) co_return created;
        TaskHandle h{route.server, route.name, upstream_task_id(created.result()), true};
        created.result()["taskId"] = task_ids_.wrap(h, ctx.caller());
        co_return created;
      }
      if (m->second == TaskMode::kRequired) co_return server::tasks_extension_required();
    }
  }
  // A Modern request's instance outlives it while its call waits for the
  // retry (a Legacy session's lives as long as the session).
  std::shared_ptr<void> keep = ctx.modern() ? keep_instance(u) : nullptr;
  Outcome out = co_await bridge_->call(std::move(u), method, std::move(params), ctx, keep);
  // An upstream's task reaches the client under an id of Bastion's own,
  // bound to this caller (task_relay.hpp). The engine checks that the
  // client asked for tasks at all.
  if (out.ok() && method == "tools/call" &&
      protocol::result_type(std::as_const(out).result()) == "task") {
    TaskHandle h{route.server, route.name, upstream_task_id(out.result())};
    if (h.upstream_id.empty()) co_return relay_created(std::move(out.result()), "");  // the refusal
    const std::string id = task_ids_.wrap(h, ctx.caller());
    co_return relay_created(std::move(out.result()), id);
  }
  co_return out;
}

asio::awaitable<std::optional<server::TaskReply>> GatewayBackend::task_request(
    std::string_view method, const json::object& params, server::RequestContext& ctx) {
  const std::string client_id(params.at("taskId").get_string());
  std::string why;
  std::optional<TaskHandle> h = task_ids_.unwrap(client_id, ctx.caller(), &why);
  if (!h) {
    // Another caller's id, a forged or expired one: "task not found", as
    // for an id nobody issued.
    if (client_id.starts_with("bs1."))
      spdlog::info("gateway: refused a task id on {}: {}", method, why);
    co_return std::nullopt;
  }
  if (h->gateway_owned) {
    // Bastion's own task: the table binds it to its caller too.
    std::optional<Outcome> out =
        legacy_tasks_->handle(server::task_owner(ctx.caller()), method, h->upstream_id, params);
    if (!out) co_return std::nullopt;
    if (out->ok() && method == "tasks/get") out->result()["taskId"] = client_id;
    co_return server::TaskReply{std::move(*out), h->server, h->tool};
  }
  std::shared_ptr<Upstream> proto;
  for (auto& u : snapshot())
    if (u->name() == h->server) proto = u;
  if (!proto)
    co_return server::TaskReply{
        protocol::RpcError{protocol::kInvalidParams,
                           "Failed to retrieve task: its server is no longer configured"},
        h->server, h->tool};
  std::string unavailable;
  auto u = instance(proto, ctx.session_id(), &unavailable);
  if (!u)
    co_return server::TaskReply{protocol::RpcError{protocol::kUpstreamUnavailable, unavailable},
                                h->server, h->tool};
  json::object up{{"taskId", h->upstream_id}};
  if (method == "tasks/update") up["inputResponses"] = params.at("inputResponses");
  const std::string m(method);
  std::shared_ptr<InputSink> no_sink;  // named: no temporaries across co_await (GCC 12)
  Outcome out = co_await u->call(m, std::move(up), ctx, no_sink);
  if (out.ok()) {
    if (m == "tasks/get")
      out = relay_task_get(std::move(out.result()), *h, client_id);
    else
      out = json::object{};  // an acknowledgment carries nothing
  }
  co_return server::TaskReply{std::move(out), h->server, h->tool};
}

namespace {

// A name at a server that other servers' descriptions should not mention:
// one that reads as an identifier (read_file, getUser, fs.read), not as a
// word of ordinary prose (search, add).
bool identifier_like(std::string_view n) {
  if (n.size() < 5) return false;
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == '_' || n[i] == '-' || n[i] == '.' || (i > 0 && n[i] >= 'A' && n[i] <= 'Z'))
      return true;
  return false;
}

}  // namespace

std::vector<PinDecision> GatewayBackend::vet(const UpstreamOptions& o, Kind kind,
                                             const std::vector<CatalogueEntry>& entries,
                                             bool record) {
  LintContext lc;
  if (o.lint != LintMode::kOff)
    for (auto& proto : snapshot()) {
      if (proto->name() == o.name) continue;
      lc.other_prefixes.push_back(proto->options().prefix);
      for (auto& e : catalogue_source(proto)->catalogue(Kind::kTool)) {
        lc.other_tools.push_back(e.exposed);
        if (identifier_like(e.original)) lc.other_tools.push_back(e.original);
      }
    }
  std::vector<Observed> items;
  items.reserve(entries.size());
  for (auto& e : entries) {
    Observed ob;
    ob.kind = kind;
    ob.name = e.original;
    ob.definition = e.definition;
    ob.hash = definition_hash(e.definition);
    if (o.lint != LintMode::kOff) ob.findings = lint_definition(e.definition, lc);
    items.push_back(std::move(ob));
  }
  std::vector<PinDecision> out;
  if (o.pinning == PinMode::kOff || !pins_) {
    // Nothing pinned: the linter alone decides.
    for (auto& ob : items) {
      if (!ob.findings.empty()) {
        CatalogueNote n{
            kind, protocol::printable(ob.name),
            fmt::format("linter: {} ({})", ob.findings.front().rule, ob.findings.front().detail),
            o.lint == LintMode::kBlock};
        note(o.name, n);
      }
      if (o.lint == LintMode::kBlock && !ob.findings.empty())
        out.push_back({PinVerdict::kWithhold,
                       "the linter found instructions or hidden text in it (lint: block)"});
      else
        out.push_back({});
    }
    return out;
  }
  auto r = pins_->observe(o.name, kind, items, o.pinning, o.lint, record);
  if (!r.error.empty())
    spdlog::error("upstream {}: pins cannot be recorded ({}): its {}s are withheld", o.name,
                  r.error, kind_label(kind));
  for (auto& e : r.events) {
    std::string type(e.at("event_type").as_string());
    auto level =
        type == "pin_added" || type == "pin_restored" ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(level, "upstream {}: {} '{}': {}{}", o.name, e.at("kind").as_string().c_str(),
                protocol::printable(e.at("name").as_string()), type,
                e.contains("findings") ? " (linter findings: run `bastion tools diff`)" : "");
    if (opts_.audit) opts_.audit(std::move(e));
  }
  return std::move(r.decisions);
}

void GatewayBackend::check_pins() {
  if (!pins_) return;
  std::vector<std::shared_ptr<Upstream>> changed;
  for (auto& proto : snapshot()) {
    const auto& o = proto->options();
    if (o.pinning == PinMode::kOff) continue;
    std::string sig = pins_->signature(o.name);
    {
      std::lock_guard lk(pins_mu_);
      auto& last = pin_signatures_[o.name];
      if (last == sig) continue;
      last = sig;
    }
    changed.push_back(proto);
    std::lock_guard lk(instances_mu_);
    if (auto it = per_session_.find(proto.get()); it != per_session_.end())
      for (auto& [s, u] : it->second) changed.push_back(u);
  }
  for (auto& u : changed) u->revet();
}

asio::awaitable<void> GatewayBackend::watch_pins(std::weak_ptr<GatewayBackend> weak,
                                                 std::shared_ptr<asio::steady_timer> timer,
                                                 std::chrono::milliseconds every) {
  for (;;) {
    timer->expires_after(every);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    auto self = weak.lock();
    if (!self || self->shut_) co_return;
    self->check_pins();
  }
}

}  // namespace bastion::gateway
