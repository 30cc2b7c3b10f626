#include "gateway/listen.hpp"

#include "protocol/era.hpp"

namespace bastion::gateway {

namespace json = boost::json;

Watchers::Added Watchers::watch(const std::string& who, const std::string& uri) {
  auto w = by_who_.find(who);
  if (w != by_who_.end() && w->second.count(uri)) return Added::kAlready;
  bool fresh = !by_uri_.count(uri);
  if ((fresh && by_uri_.size() >= limits_.max_uris) ||
      (w != by_who_.end() && w->second.size() >= limits_.max_per_watcher))
    return Added::kTooMany;
  by_who_[who].insert(uri);
  by_uri_[uri].insert(who);
  return fresh ? Added::kAdded : Added::kAlready;
}

bool Watchers::unwatch(const std::string& who, const std::string& uri) {
  auto w = by_who_.find(who);
  if (w == by_who_.end() || !w->second.erase(uri)) return false;
  if (w->second.empty()) by_who_.erase(w);
  auto u = by_uri_.find(uri);
  if (u == by_uri_.end()) return false;
  u->second.erase(who);
  if (!u->second.empty()) return false;
  by_uri_.erase(u);
  return true;
}

bool Watchers::forget(const std::string& who) {
  auto w = by_who_.find(who);
  if (w == by_who_.end()) return false;
  std::set<std::string> uris = std::move(w->second);
  by_who_.erase(w);
  bool shrank = false;
  for (auto& uri : uris) {
    auto u = by_uri_.find(uri);
    if (u == by_uri_.end()) continue;
    u->second.erase(who);
    if (u->second.empty()) {
      by_uri_.erase(u);
      shrank = true;
    }
  }
  return shrank;
}

std::vector<std::string> Watchers::uris() const {
  std::vector<std::string> out;
  out.reserve(by_uri_.size());
  for (auto& [uri, who] : by_uri_) out.push_back(uri);
  return out;
}

void OpenListens::opened(std::int64_t id, std::uint64_t generation, std::vector<std::string> uris) {
  Listen l;
  l.generation = generation;
  for (auto& u : uris) l.uris.insert(std::move(u));
  open_[id] = std::move(l);
}

void OpenListens::closed(std::int64_t id) { open_.erase(id); }

bool OpenListens::acknowledged(std::int64_t id) const {
  auto it = open_.find(id);
  return it != open_.end() && it->second.acknowledged;
}

std::vector<std::int64_t> OpenListens::older_than(std::uint64_t generation) const {
  std::vector<std::int64_t> out;
  for (auto& [id, l] : open_)
    if (l.generation < generation) out.push_back(id);
  return out;
}

std::optional<std::uint64_t> OpenListens::generation_of(std::int64_t id) const {
  auto it = open_.find(id);
  if (it == open_.end()) return std::nullopt;
  return it->second.generation;
}

namespace {

using Verdict = OpenListens::Verdict;

Verdict drop(std::string why) {
  Verdict v;
  v.kind = Verdict::kDrop;
  v.why = std::move(why);
  return v;
}

}  // namespace

OpenListens::Verdict OpenListens::judge(const json::object& msg,
                                        std::optional<std::int64_t> related,
                                        const Watchers& watchers) {
  auto* m = msg.if_contains("method");
  if (!m || !m->is_string()) return {};
  std::string_view method = m->get_string();
  Verdict v;
  if (method == "notifications/subscriptions/acknowledged")
    v.kind = Verdict::kAcknowledged;
  else if (method == "notifications/tools/list_changed")
    v = {Verdict::kListChanged, 0, server::Kind::kTool, {}, {}};
  else if (method == "notifications/prompts/list_changed")
    v = {Verdict::kListChanged, 0, server::Kind::kPrompt, {}, {}};
  else if (method == "notifications/resources/list_changed")
    v = {Verdict::kListChanged, 0, server::Kind::kResource, {}, {}};
  else if (method == "notifications/resources/updated")
    v.kind = Verdict::kResourceUpdated;
  else
    return {};
  // A Modern server sends these on a listen only, tagged with its id.
  const json::object* params = nullptr;
  if (auto* p = msg.if_contains("params"); p && p->is_object()) params = &p->get_object();
  const json::value* sid = nullptr;
  if (params)
    if (auto* meta = params->if_contains("_meta"); meta && meta->is_object())
      sid = meta->get_object().if_contains(protocol::meta_key::kSubscriptionId);
  if (!sid) return drop("it carries no subscriptionId");
  if (!sid->is_int64() || !open_.count(sid->get_int64()))
    return drop("its subscriptionId names no listen Bastion has open");
  v.id = sid->get_int64();
  // Streamable HTTP: a listen's messages come on that listen's own stream.
  if (related && *related != v.id) return drop("it came on the response stream of another request");
  Listen& l = open_.at(v.id);
  if (v.kind == Verdict::kAcknowledged) {
    if (l.acknowledged) return drop("the listen was acknowledged already");
    l.acknowledged = true;
    // The server honours a subset: what it left out is never relayed.
    const json::value* agreed = nullptr;
    if (auto* n = params->if_contains("notifications"); n && n->is_object())
      agreed = n->get_object().if_contains("resourceSubscriptions");
    std::set<std::string, std::less<>> kept;
    if (agreed && agreed->is_array())
      for (auto& u : agreed->get_array())
        if (u.is_string() && l.uris.count(std::string_view(u.get_string())))
          kept.emplace(u.get_string());
    l.uris = std::move(kept);
    return v;
  }
  if (!l.acknowledged) return drop("it came before the listen's acknowledgment");
  if (v.kind == Verdict::kListChanged) return v;
  auto* uri = params->if_contains("uri");
  if (!uri || !uri->is_string()) return drop("it names no uri");
  const std::string_view u = uri->get_string();
  if (!l.uris.count(u) || !watchers.watched(u)) return drop("no client subscribed to its uri");
  v.uri = std::string(uri->get_string());
  return v;
}

json::object listen_filter(const std::vector<std::string>& uris, bool subscribe) {
  json::object n{
      {"toolsListChanged", true}, {"promptsListChanged", true}, {"resourcesListChanged", true}};
  if (subscribe && !uris.empty()) {
    json::array a;
    for (auto& u : uris) a.emplace_back(u);
    n["resourceSubscriptions"] = std::move(a);
  }
  return n;
}

json::object listen_params(const std::vector<std::string>& uris, bool subscribe) {
  return json::object{{"notifications", listen_filter(uris, subscribe)}};
}

}  // namespace bastion::gateway
