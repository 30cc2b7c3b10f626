#include "server/subscriptions.hpp"

#include <fmt/format.h>

#include <vector>

#include "protocol/era.hpp"

namespace bastion::server {

namespace json = boost::json;

json::object ListenFilter::to_json() const {
  json::object o;
  if (tools) o["toolsListChanged"] = true;
  if (prompts) o["promptsListChanged"] = true;
  if (resources) o["resourcesListChanged"] = true;
  if (!uris.empty()) {
    json::array a;
    for (auto& u : uris) a.emplace_back(u);
    o["resourceSubscriptions"] = std::move(a);
  }
  return o;
}

protocol::Expected<ListenFilter, protocol::RpcError> parse_listen_filter(const json::object& params,
                                                                         std::size_t max_uris) {
  ListenFilter f;
  auto* n = params.if_contains("notifications");
  if (!n || n->is_null()) return f;
  if (!n->is_object())
    return protocol::invalid_params("subscriptions/listen: notifications must be an object");
  const auto& o = n->get_object();
  auto flag = [&](std::string_view key, bool& out) -> bool {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) return true;
    if (!v->is_bool()) return false;
    out = v->get_bool();
    return true;
  };
  if (!flag("toolsListChanged", f.tools) || !flag("promptsListChanged", f.prompts) ||
      !flag("resourcesListChanged", f.resources))
    return protocol::invalid_params("subscriptions/listen: notification flags must be booleans");
  if (auto* u = o.if_contains("resourceSubscriptions"); u && !u->is_null()) {
    if (!u->is_array())
      return protocol::invalid_params(
          "subscriptions/listen: resourceSubscriptions must be an array of URIs");
    if (u->get_array().size() > max_uris)
      return protocol::invalid_params(
          fmt::format("subscriptions/listen: at most {} resourceSubscriptions", max_uris));
    for (auto& x : u->get_array()) {
      if (!x.is_string() || x.get_string().empty() || x.get_string().size() > 2048)
        return protocol::invalid_params(
            "subscriptions/listen: resourceSubscriptions must be non-empty URI strings");
      f.uris.emplace(x.get_string());
    }
  }
  return f;
}

std::optional<std::uint64_t> Subscriptions::add(Listener l) {
  std::lock_guard lk(mu_);
  if (listeners_.size() >= limits_.max_total) return std::nullopt;
  auto& n = per_caller_[l.caller];
  if (n >= limits_.max_per_caller) {
    if (n == 0) per_caller_.erase(l.caller);
    return std::nullopt;
  }
  ++n;
  auto h = next_++;
  listeners_.emplace(h, std::move(l));
  return h;
}

void Subscriptions::remove(std::uint64_t handle) {
  std::lock_guard lk(mu_);
  auto it = listeners_.find(handle);
  if (it == listeners_.end()) return;
  auto c = per_caller_.find(it->second.caller);
  if (c != per_caller_.end() && --c->second == 0) per_caller_.erase(c);
  listeners_.erase(it);
}

std::size_t Subscriptions::size() const {
  std::lock_guard lk(mu_);
  return listeners_.size();
}

void Subscriptions::deliver(const Listener& l, json::object notification) {
  if (l.acknowledged && !l.acknowledged->load()) return;
  if (l.ended && l.ended->load()) return;  // answered soon; it hears nothing more
  auto ctx = l.ctx.lock();
  if (!ctx) return;
  json::value& params = notification["params"];
  if (!params.is_object()) params = json::object{};
  json::value& meta = params.get_object()["_meta"];
  if (!meta.is_object()) meta = json::object{};
  meta.get_object()[protocol::meta_key::kSubscriptionId] = l.id;
  ctx->notify(std::move(notification));
}

void Subscriptions::list_changed(Kind kind,
                                 const std::function<bool(const protocol::Principal&)>& may_hear) {
  const char* method = kind == Kind::kTool     ? "notifications/tools/list_changed"
                       : kind == Kind::kPrompt ? "notifications/prompts/list_changed"
                                               : "notifications/resources/list_changed";
  std::vector<Listener> to;
  {
    std::lock_guard lk(mu_);
    for (auto& [h, l] : listeners_) {
      bool wants = kind == Kind::kTool     ? l.filter.tools
                   : kind == Kind::kPrompt ? l.filter.prompts
                                           : l.filter.resources;
      if (wants) to.push_back(l);
    }
  }
  for (auto& l : to) {
    if (may_hear) {
      auto ctx = l.ctx.lock();
      if (!ctx || !may_hear(ctx->caller())) continue;
    }
    deliver(l, protocol::make_notification(method, {}));
  }
}

void Subscriptions::resource_updated(
    std::string_view uri, const std::function<bool(const protocol::Principal&)>& may_hear) {
  std::vector<Listener> to;
  {
    std::lock_guard lk(mu_);
    for (auto& [h, l] : listeners_)
      if (l.filter.uris.count(uri)) to.push_back(l);
  }
  for (auto& l : to) {
    auto ctx = l.ctx.lock();
    if (!ctx || (may_hear && !may_hear(ctx->caller()))) continue;
    deliver(l, protocol::make_notification("notifications/resources/updated",
                                           json::object{{"uri", uri}}));
  }
}

void Subscriptions::end_all() {
  end_where([](const protocol::Principal&) { return true; });
}

std::size_t Subscriptions::end_where(const std::function<bool(const protocol::Principal&)>& ends) {
  std::vector<Listener> all;
  {
    std::lock_guard lk(mu_);
    for (auto& [h, l] : listeners_) all.push_back(l);
  }
  std::size_t n = 0;
  for (auto& l : all) {
    auto ctx = l.ctx.lock();
    if (!l.ended || (ctx && !ends(ctx->caller()))) continue;
    if (!l.ended->exchange(true)) ++n;
  }
  return n;
}

}  // namespace bastion::server
