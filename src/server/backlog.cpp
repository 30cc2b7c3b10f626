#include "server/backlog.hpp"

#include <fmt/format.h>

#include "metrics/metrics.hpp"

namespace bastion::server {

namespace json = boost::json;

namespace {
// A json::value node, plus the bookkeeping of the container holding it.
constexpr std::size_t kNode = sizeof(json::value) + 16;

bool idempotent(const json::object& m) {
  const auto* method = m.if_contains("method");
  if (!method || !method->is_string()) return false;
  const auto& s = method->get_string();
  return s == "notifications/tools/list_changed" || s == "notifications/prompts/list_changed" ||
         s == "notifications/resources/list_changed" || s == "notifications/resources/updated";
}

std::size_t string_bytes(json::string_view s) {
  return s.size() > 14 ? s.size() + 1 : 0;  // short strings live inside the node
}
}  // namespace

std::size_t approx_bytes(const json::object& o) {
  std::size_t n = kNode;
  for (const auto& kv : o)
    n += sizeof(json::key_value_pair) + kv.key().size() + approx_bytes(kv.value());
  return n;
}

std::size_t approx_bytes(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      return approx_bytes(v.get_object());
    case json::kind::array: {
      std::size_t n = kNode;
      for (const auto& e : v.get_array()) n += approx_bytes(e);
      return n;
    }
    case json::kind::string:
      return kNode + string_bytes(v.get_string());
    default:
      return kNode;
  }
}

std::size_t Backlog::push(json::object m) {
  // A notice that something changed says the same thing twice: one held is
  // enough (each upstream restart announces its lists again, to every
  // session, and most sessions never open the stream that would take them).
  if (idempotent(m))
    for (const auto& e : q_)
      if (e.message == m) return 0;
  std::size_t b = approx_bytes(m);
  q_.push_back(Entry{std::move(m), b});
  bytes_ += b;
  std::size_t dropped = 0;
  while (!q_.empty() && (q_.size() > limits_.messages || bytes_ > limits_.bytes)) {
    bytes_ -= q_.front().bytes;
    q_.pop_front();
    ++dropped;
  }
  return dropped;
}

std::vector<json::object> Backlog::take() {
  std::vector<json::object> out;
  if (q_.empty()) return out;
  out.reserve(q_.size());
  for (auto& e : q_) out.push_back(std::move(e.message));
  decltype(q_)().swap(q_);  // a deque keeps its blocks when cleared
  bytes_ = 0;
  return out;
}

void count_dropped_notifications(std::string_view reason, std::size_t n) {
  if (n == 0) return;
  metrics::Metrics::global().add("bastion_notifications_dropped_total",
                                 fmt::format("reason=\"{}\"", reason), static_cast<double>(n));
}

}  // namespace bastion::server
