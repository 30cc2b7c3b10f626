#include "gateway/task_relay.hpp"

#include <array>

#include "server/tasks.hpp"

namespace bastion::gateway {

namespace json = boost::json;
using protocol::Outcome;
using protocol::RpcError;

namespace {

// Domain-separated from requestState: a task id never opens as a state and
// the other way round (the method differs in the binding).
protocol::StateBinding binding(const protocol::Principal& caller) {
  protocol::StateBinding b;
  b.principal = server::task_owner(caller);
  b.method = "io.modelcontextprotocol/tasks";
  return b;
}

const json::string* string_member(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v ? v->if_string() : nullptr;
}

bool known_status(std::string_view s) {
  static constexpr std::array<std::string_view, 5> kAll{"working", "input_required", "completed",
                                                        "failed", "cancelled"};
  for (auto k : kAll)
    if (s == k) return true;
  return false;
}

}  // namespace

std::string TaskIds::wrap(const TaskHandle& h, const protocol::Principal& caller) const {
  json::object payload{{"s", h.server}, {"n", h.tool}, {"t", h.upstream_id}};
  if (h.gateway_owned) payload["g"] = true;
  return sealer_->seal(payload, binding(caller));
}

std::optional<TaskHandle> TaskIds::unwrap(std::string_view id, const protocol::Principal& caller,
                                          std::string* why) const {
  auto opened = sealer_->open(id, binding(caller));
  if (!opened) {
    if (why) *why = opened.error().reason;
    return std::nullopt;
  }
  const json::value& v = opened.value();
  const json::object* o = v.if_object();
  const json::string *s = o ? string_member(*o, "s") : nullptr,
                     *n = o ? string_member(*o, "n") : nullptr,
                     *t = o ? string_member(*o, "t") : nullptr;
  if (!s || !n || !t) {
    if (why) *why = "malformed payload";
    return std::nullopt;
  }
  const json::value* g = o->if_contains("g");
  if (g && !g->is_bool()) {
    if (why) *why = "malformed payload";
    return std::nullopt;
  }
  return TaskHandle{std::string(*s), std::string(*n), std::string(*t), g && g->get_bool()};
}

std::string upstream_task_id(const json::object& result) {
  const json::string* id = string_member(result, "taskId");
  if (!id || id->empty() || id->size() > kMaxUpstreamTaskId) return {};
  return std::string(*id);
}

Outcome relay_created(json::object result, const std::string& client_id) {
  const json::string* status = string_member(result, "status");
  if (upstream_task_id(result).empty() || !status || !known_status(*status))
    return protocol::internal_error(
        "The server answered with a task Bastion cannot relay "
        "(no valid taskId or status)");
  for (auto k : {"result", "error", "inputRequests", "requestState"}) result.erase(k);
  result["taskId"] = client_id;
  return result;
}

Outcome relay_task_get(json::object result, const TaskHandle& h, const std::string& client_id) {
  const json::string* id = string_member(result, "taskId");
  if (!id || *id != h.upstream_id)
    return protocol::internal_error("The server answered tasks/get about another task");
  const json::string* status = string_member(result, "status");
  if (!status || !known_status(*status))
    return protocol::internal_error("The server answered tasks/get without a valid status");
  result["taskId"] = client_id;
  result.erase("requestState");
  return result;
}

}  // namespace bastion::gateway
