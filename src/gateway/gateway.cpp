#include "gateway/gateway.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <set>

#include "protocol/uri_template.hpp"

namespace bastion::gateway {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::Outcome;
using server::Kind;

std::string exposed_name(std::string_view prefix, std::string_view name) {
  std::string full = prefix.empty()
                         ? std::string(name)
                         : std::string(prefix) + std::string(kSeparator) + std::string(name);
  if (full.size() <= kMaxToolName) return full;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(full.data(), full.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string tail = "_";
  for (int i = 0; i < 4; ++i) {
    tail += hex[md[i] >> 4];
    tail += hex[md[i] & 15];
  }
  return full.substr(0, kMaxToolName - tail.size()) + tail;
}

namespace {
std::string str(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_string()) return std::string(v->get_string());
  return {};
}
}  // namespace

GatewayBackend::GatewayBackend(asio::any_io_executor ex, std::vector<UpstreamOptions> upstreams,
                               std::size_t max_processes, SecretResolver secrets,
                               ChannelFactory factory)
    : ex_(ex),
      max_processes_(max_processes),
      secrets_(std::move(secrets)),
      factory_(std::move(factory)) {
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
  ev.resolve_secret = secrets_;
  // The gateway owns its upstreams and stops them before it goes away.
  auto* self = this;
  ev.catalogue_changed = [self](Kind k) {
    self->rebuild_index();
    if (self->listener_)
      self->listener_->list_changed(k == Kind::kResourceTemplate ? Kind::kResource : k);
  };
  // A per-session instance speaks to its session only; a shared one to the
  // sessions allowed to use its server.
  ev.resource_updated = [self, server = o.name, session](std::string_view uri) {
    if (self->listener_) self->listener_->resource_updated({server, session}, uri);
  };
  ev.broadcast = [self, server = o.name, session](json::object n) {
    if (self->listener_) self->listener_->notify({server, session}, std::move(n));
  };
  return std::make_shared<Upstream>(ex_, o, std::move(ev), factory_);
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
                                                   const std::string& session, std::string* why) {
  bool running =
      proto->state() == UpstreamState::kReady || proto->state() == UpstreamState::kStarting;
  if (!proto->options().per_session) {
    if (!running && running_instances() >= max_processes_) {
      if (why)
        *why = fmt::format("the gateway runs its maximum of {} server processes", max_processes_);
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
  if (total >= max_processes_) {
    if (why)
      *why = fmt::format("the gateway runs its maximum of {} server processes", max_processes_);
    return nullptr;
  }
  auto u = make_upstream(proto->options(), session);
  m.emplace(session, u);
  return u;
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

void GatewayBackend::on_session_closed(std::string_view session_id) {
  std::vector<std::shared_ptr<Upstream>> gone;
  {
    std::lock_guard lk(instances_mu_);
    for (auto& [proto, m] : per_session_)
      if (auto it = m.find(std::string(session_id)); it != m.end()) {
        gone.push_back(it->second);
        m.erase(it);
      }
  }
  stop_later(std::move(gone), "client session closed");
}

void GatewayBackend::stop_later(std::vector<std::shared_ptr<Upstream>> gone, std::string reason) {
  if (gone.empty()) return;
  asio::post(stopper_, [gone = std::move(gone), reason = std::move(reason)] {
    for (auto& u : gone) u->stop(reason);
  });
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
  for (auto& u : all) start_if_eager(u);
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
      if (it != current.end()) {
        gone.push_back(it->second);
        current.erase(it);
        report.changed.push_back(o.name);
      } else {
        report.added.push_back(o.name);
      }
      keep.push_back(make_upstream(o));
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
      auto& owners = resources[str(r, "uri")];
      if (std::find(owners.begin(), owners.end(), proto) == owners.end()) owners.push_back(proto);
    }
    for (auto& r : u->catalogue(Kind::kResourceTemplate))
      templates.emplace_back(str(r, "uriTemplate"), proto);
  }
  std::unique_lock lk(mu_);
  resources_ = std::move(resources);
  templates_ = std::move(templates);
}

namespace {
// The original name behind exposed name `key` in `u`'s catalogue of `kind`.
std::optional<std::string> original_in(const Upstream& u, Kind kind, std::string_view key) {
  for (auto& item : u.catalogue(kind)) {
    std::string n = str(item, "name");
    if (exposed_name(u.options().prefix, n) == key) return n;
  }
  return std::nullopt;
}

bool under_prefix(std::string_view key, std::string_view prefix) {
  return !prefix.empty() && key.size() > prefix.size() + kSeparator.size() &&
         key.starts_with(prefix) && key.substr(prefix.size()).starts_with(kSeparator);
}

protocol::RpcError unknown(Kind kind, std::string_view key) {
  if (kind == Kind::kTool) return protocol::invalid_params("Unknown tool: " + std::string(key));
  if (kind == Kind::kPrompt) return protocol::invalid_params("Unknown prompt: " + std::string(key));
  return protocol::RpcError{protocol::kResourceNotFound, "Resource not found",
                            json::object{{"uri", key}}};
}
}  // namespace

asio::awaitable<std::vector<server::Listed>> GatewayBackend::list(Kind kind,
                                                                  server::RequestContext& ctx) {
  std::vector<server::Listed> out;
  auto protos = snapshot();
  // Start every lazy upstream at once; the loop below then waits for each.
  for (auto& proto : protos)
    if (auto u = instance(proto, ctx.session_id()); u && u->state() != UpstreamState::kReady)
      asio::co_spawn(
          ex_, [u]() -> asio::awaitable<void> { co_await u->ensure_started(); }, asio::detached);
  for (auto& proto : protos) {
    auto u = instance(proto, ctx.session_id());
    if (!u) continue;
    // Lazy upstreams start on first use; a broken one is skipped (its tools
    // are simply absent) and the others still answer.
    if (u->state() != UpstreamState::kReady) co_await u->ensure_started();
    if (u->state() != UpstreamState::kReady) continue;
    const auto& prefix = u->options().prefix;
    for (auto& item : u->catalogue(kind)) {
      std::string original;
      if (kind == Kind::kTool || kind == Kind::kPrompt) {
        original = str(item, "name");
        item["name"] = exposed_name(prefix, original);
        if (!prefix.empty() && !item.contains("title")) item["title"] = original;
      } else {
        original = str(item, kind == Kind::kResource ? "uri" : "uriTemplate");
      }
      out.push_back(server::Listed{std::move(item), proto->name(), std::move(original)});
    }
  }
  rebuild_index();
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
    owner = name_owner(key);
    if (!owner) return std::nullopt;
    const auto& p = owner->options().prefix;
    auto original = original_in(*catalogue_source(owner), kind, key);
    // Not listed yet: the name under the prefix (settle() checks it).
    r.name = original ? *original : std::string(p.empty() ? key : key.substr(p.size() + 2));
  } else {
    auto claimants = uri_claimants(key);
    if (claimants.empty()) {
      // An unprefixed server that has not listed may serve it.
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

asio::awaitable<server::Settled> GatewayBackend::settle(server::Route route,
                                                        server::RequestContext& ctx) {
  auto proto = std::static_pointer_cast<Upstream>(route.target);
  std::string why;
  auto u = instance(proto, ctx.session_id(), &why);
  if (!u) co_return protocol::RpcError{protocol::kUpstreamUnavailable, why};
  if (u->state() != UpstreamState::kReady) {
    co_await u->ensure_started();
    rebuild_index();
    if (u->state() != UpstreamState::kReady)
      co_return protocol::RpcError{
          protocol::kUpstreamUnavailable,
          fmt::format("server '{}' is unavailable: {}", u->name(), u->last_error())};
  }
  // The instance that will serve the call must really have it.
  if (route.kind == Kind::kTool || route.kind == Kind::kPrompt) {
    auto original = original_in(*u, route.kind, route.key);
    if (!original) co_return unknown(route.kind, route.key);
    route.name = *original;
  } else {
    auto claimants = uri_claimants(route.key);
    if (claimants.empty() || claimants.front() != proto) co_return unknown(route.kind, route.key);
  }
  route.target = u;
  route.settled = true;
  co_return route;
}

asio::awaitable<Outcome> GatewayBackend::call(const server::Route& route, std::string_view method,
                                              json::object params, server::RequestContext& ctx) {
  if (method == "resources/unsubscribe") co_return json::object{};  // others may still watch it
  if (route.kind == Kind::kTool || route.kind == Kind::kPrompt) {
    if (method == "completion/complete")
      params["ref"].get_object()["name"] = route.name;
    else
      params["name"] = route.name;
  }
  auto u = std::static_pointer_cast<Upstream>(route.target);
  co_return co_await u->call(method, std::move(params), ctx);
}

}  // namespace bastion::gateway
