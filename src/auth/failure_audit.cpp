#include "auth/failure_audit.hpp"

#include <vector>

namespace bastion::auth {

namespace json = boost::json;

FailureAudit::FailureAudit(std::chrono::seconds interval, std::size_t max_keys, Clock clock)
    : interval_(interval), max_keys_(max_keys), clock_(std::move(clock)) {}

void FailureAudit::set_sink(Sink sink) {
  std::lock_guard lock(mu_);
  sink_ = std::move(sink);
}

bool FailureAudit::record(json::object event, std::string_view client, std::string_view source) {
  std::string type, error;
  if (auto* t = event.if_contains("event_type"); t && t->is_string()) type = t->get_string();
  if (auto* e = event.if_contains("error"); e && e->is_string()) error = e->get_string();
  Sink sink;
  {
    std::lock_guard lock(mu_);
    std::int64_t now = clock_();
    auto key = std::make_tuple(type, std::string(client), std::string(source));
    auto it = windows_.find(key);
    if (it == windows_.end() && windows_.size() >= max_keys_) {
      // Too many distinct keys this interval: count under a shared one.
      key = std::make_tuple(type, std::string("*"), std::string("*"));
      it = windows_.find(key);
    }
    if (it != windows_.end()) {
      // (A window whose interval just ended still counts: the housekeeping
      // flush writes it within a second, and the next failure opens anew.)
      ++it->second.suppressed;
      ++it->second.errors[error.empty() ? "unknown" : error];
      return true;
    }
    Window w;
    w.start = now;
    windows_.emplace(key, std::move(w));
    sink = sink_;
  }
  if (!event.contains("source")) event["source"] = source;
  event["count"] = 1;
  return sink ? sink(std::move(event)) : true;
}

void FailureAudit::flush(bool all) {
  using Key = std::tuple<std::string, std::string, std::string>;
  std::vector<std::pair<Key, Window>> due;
  Sink sink;
  {
    std::lock_guard lock(mu_);
    std::int64_t now = clock_();
    for (auto it = windows_.begin(); it != windows_.end();) {
      if (!all && now - it->second.start < interval_.count()) {
        ++it;
        continue;
      }
      if (it->second.suppressed > 0) due.emplace_back(it->first, std::move(it->second));
      it = windows_.erase(it);
    }
    sink = sink_;
  }
  if (!sink) return;
  for (auto& [key, w] : due) {
    const auto& [type, client, source] = key;
    // An array of {error, count}, not an object keyed by error code: the
    // audit sanitizer removes the value of any key that names a credential
    // ("invalid_token"), which would drop the count.
    json::array errors;
    for (const auto& [code, n] : w.errors) errors.push_back(json::object{{"error", code}, {"count", n}});
    json::object e{{"event_type", type},    {"aggregated", true},
                   {"count", w.suppressed}, {"errors", std::move(errors)},
                   {"source", source},      {"interval_s", interval_.count()}};
    if (!client.empty()) e["client_id"] = client;
    if (sink(std::move(e))) continue;
    // Not written (the audit log is unavailable): the count is kept and
    // written with the next one, never dropped.
    std::lock_guard lock(mu_);
    auto [it, fresh] = windows_.try_emplace(key);
    if (fresh) it->second.start = clock_();
    it->second.suppressed += w.suppressed;
    for (const auto& [code, n] : w.errors) it->second.errors[code] += n;
  }
}

std::size_t FailureAudit::open_keys() const {
  std::lock_guard lock(mu_);
  return windows_.size();
}

}  // namespace bastion::auth
