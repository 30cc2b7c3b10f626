#include "gateway/gateway.hpp"

#include <openssl/evp.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "server/builtin_backend.hpp"

namespace bastion::gateway {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::Outcome;
using server::Kind;

std::string exposed_name(std::string_view prefix, std::string_view name) {
  std::string full = prefix.empty() ? std::string(name)
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

GatewayBackend::GatewayBackend(asio::any_io_executor ex, std::vector<UpstreamOptions> upstreams)
    : ex_(ex) {
  for (auto& o : upstreams) {
    Upstream::Events ev;
    // Upstreams outlive no gateway: the callbacks hold weak references.
    auto* self = this;
    ev.catalogue_changed = [self](Kind k) {
      self->rebuild_index();
      if (self->listener_) self->listener_->list_changed(k == Kind::kResourceTemplate ? Kind::kResource : k);
    };
    ev.resource_updated = [self](std::string_view uri) {
      if (self->listener_) self->listener_->resource_updated(uri);
    };
    ev.broadcast = [self](json::object n) {
      if (self->listener_) self->listener_->broadcast(std::move(n));
    };
    upstreams_.push_back(std::make_shared<Upstream>(ex, std::move(o), std::move(ev)));
  }
}

GatewayBackend::~GatewayBackend() { shutdown(); }

void GatewayBackend::start() {
  for (auto& u : upstreams_)
    if (u->options().eager)
      asio::co_spawn(
          ex_, [u]() -> asio::awaitable<void> { co_await u->ensure_started(); }, asio::detached);
}

void GatewayBackend::shutdown() {
  for (auto& u : upstreams_) u->stop("gateway shutdown");
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
  std::map<std::string, Route, std::less<>> tools, prompts, resources;
  std::vector<std::pair<std::string, Route>> templates;
  for (auto& u : upstreams_) {
    const auto& prefix = u->options().prefix;
    auto add = [&](auto& table, const std::string& exposed, const std::string& original) {
      auto [it, inserted] = table.emplace(exposed, Route{u, original});
      if (!inserted && it->second.upstream != u)
        spdlog::warn("gateway: '{}' from {} collides with {}; keeping the first", exposed, u->name(),
                     it->second.upstream->name());
    };
    for (auto& t : u->catalogue(Kind::kTool)) {
      std::string n = str(t, "name");
      add(tools, exposed_name(prefix, n), n);
    }
    for (auto& p : u->catalogue(Kind::kPrompt)) {
      std::string n = str(p, "name");
      add(prompts, exposed_name(prefix, n), n);
    }
    for (auto& r : u->catalogue(Kind::kResource)) {
      std::string uri = str(r, "uri");
      add(resources, uri, uri);
    }
    for (auto& r : u->catalogue(Kind::kResourceTemplate))
      templates.emplace_back(str(r, "uriTemplate"), Route{u, str(r, "uriTemplate")});
  }
  std::unique_lock lk(mu_);
  tools_ = std::move(tools);
  prompts_ = std::move(prompts);
  resources_ = std::move(resources);
  templates_ = std::move(templates);
}

asio::awaitable<std::vector<json::object>> GatewayBackend::list(Kind kind, server::RequestContext&) {
  std::vector<json::object> out;
  for (auto& u : upstreams_) {
    // Lazy upstreams start on first use; a broken one is skipped (its tools
    // are simply absent) and the others still answer.
    if (u->state() != UpstreamState::kReady) co_await u->ensure_started();
    if (u->state() != UpstreamState::kReady) continue;
    const auto& prefix = u->options().prefix;
    for (auto& item : u->catalogue(kind)) {
      if (kind == Kind::kTool || kind == Kind::kPrompt) {
        std::string n = str(item, "name");
        item["name"] = exposed_name(prefix, n);
        if (!prefix.empty() && !item.contains("title")) item["title"] = n;
      }
      out.push_back(std::move(item));
    }
  }
  rebuild_index();
  co_return out;
}

std::optional<GatewayBackend::Route> GatewayBackend::route(Kind kind, std::string_view key) const {
  std::shared_lock lk(mu_);
  auto find = [&](auto& table) -> std::optional<Route> {
    auto it = table.find(key);
    if (it == table.end()) return std::nullopt;
    return it->second;
  };
  if (kind == Kind::kTool) return find(tools_);
  if (kind == Kind::kPrompt) return find(prompts_);
  if (auto r = find(resources_)) return r;
  for (auto& [pattern, r] : templates_)
    if (pattern == key || server::match_uri_template(pattern, key, nullptr)) return r;
  return std::nullopt;
}

bool GatewayBackend::owns(Kind kind, std::string_view key) const {
  if (route(kind, key)) return true;
  // Not listed yet (lazy upstream never started): claim names under a prefix
  // so the call can start the server.
  for (auto& u : upstreams_) {
    if (u->state() == UpstreamState::kReady) continue;
    const auto& p = u->options().prefix;
    // An unprefixed server may own any name or URI until it has listed.
    if (p.empty()) return true;
    if ((kind == Kind::kTool || kind == Kind::kPrompt) && key.size() > p.size() + kSeparator.size() &&
        key.starts_with(p) && key.substr(p.size()).starts_with(kSeparator))
      return true;
  }
  return false;
}

asio::awaitable<Outcome> GatewayBackend::call(std::string_view method, json::object params,
                                              server::RequestContext& ctx) {
  Kind kind = Kind::kResource;
  std::string key;
  if (method == "tools/call" || method == "prompts/get") {
    kind = method == "tools/call" ? Kind::kTool : Kind::kPrompt;
    key = str(params, "name");
  } else if (method == "completion/complete") {
    const auto& ref = params.at("ref").get_object();
    if (str(ref, "type") == "ref/prompt") {
      kind = Kind::kPrompt;
      key = str(ref, "name");
    } else {
      key = str(ref, "uri");
    }
  } else {
    key = str(params, "uri");
  }
  auto r = route(kind, key);
  std::shared_ptr<Upstream> down;  // the prefixed owner, when it is not running
  if (!r) {
    // Owned by a server that has not listed yet: start it, retry.
    for (auto& u : upstreams_) {
      const auto& p = u->options().prefix;
      bool prefixed = !p.empty() && key.size() > p.size() + kSeparator.size() && key.starts_with(p) &&
                      std::string_view(key).substr(p.size()).starts_with(kSeparator);
      if ((p.empty() || prefixed) && u->state() != UpstreamState::kReady) {
        co_await u->ensure_started();
        rebuild_index();
        if (prefixed && u->state() != UpstreamState::kReady) down = u;
      }
    }
    r = route(kind, key);
  }
  if (!r && down)
    co_return protocol::RpcError{protocol::kUpstreamUnavailable,
                                 fmt::format("server '{}' is unavailable: {}", down->name(),
                                             down->last_error())};
  if (!r) {
    if (kind == Kind::kTool) co_return protocol::invalid_params("Unknown tool: " + key);
    if (kind == Kind::kPrompt) co_return protocol::invalid_params("Unknown prompt: " + key);
    co_return protocol::RpcError{protocol::kResourceNotFound, "Resource not found",
                                 json::object{{"uri", key}}};
  }
  if (method == "resources/unsubscribe") co_return json::object{};  // others may still watch it
  if (kind == Kind::kTool || kind == Kind::kPrompt) {
    if (method == "completion/complete")
      params["ref"].get_object()["name"] = r->original;
    else
      params["name"] = r->original;
  }
  co_return co_await r->upstream->call(method, std::move(params), ctx);
}

}  // namespace bastion::gateway
