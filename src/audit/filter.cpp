#include "audit/filter.hpp"

#include "metrics/metrics.hpp"

namespace bastion::audit {

namespace json = boost::json;

namespace {

std::string_view to_string(server::DataAction a) {
  switch (a) {
    case server::DataAction::kAllow:
      return "allow";
    case server::DataAction::kMask:
      return "mask";
    case server::DataAction::kEncrypt:
      return "encrypt";
    case server::DataAction::kReject:
      return "reject";
  }
  return "reject";
}

std::string_view event_type(std::string_view method) {
  if (method == "tools/call") return "tool_call";
  if (method == "resources/read") return "resource_read";
  if (method == "prompts/get") return "prompt_get";
  return "request";
}

}  // namespace

json::object audit_event(const server::CallContext& ctx, std::string_view outcome,
                         const protocol::RpcError* error) {
  const server::CallNotes& n = ctx.notes;
  bool pii = n.contains_pii;
  std::string_view decision = to_string(n.pii_action);
  std::string_view action = !pii                                           ? "none"
                            : n.pii_action == server::DataAction::kAllow   ? "allowed"
                            : n.pii_action == server::DataAction::kMask    ? "masked"
                            : n.pii_action == server::DataAction::kEncrypt ? "encrypted"
                                                                           : "rejected";
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  ctx.started)
                .count();
  json::object e;
  e.reserve(16);
  e["event_type"] = event_type(ctx.method);
  e["tool_name"] = ctx.target;
  e["server"] = ctx.server;
  e["method"] = ctx.method;
  e["user_id"] = ctx.caller.subject;
  e["client_id"] = ctx.caller.client_id;
  e["contains_pii"] = pii;
  e["action_taken"] = action;
  e["parameter_count"] = n.parameter_count;
  e["request_id"] = ctx.request_id;
  e["session_id"] = ctx.session_id;
  if (pii) {
    json::object counts;
    for (const auto& [type, count] : n.pii) counts[type] = count;
    e["pii"] = std::move(counts);
    e["decision"] = decision;
  }
  if (n.secrets_redacted) e["secrets_redacted"] = n.secrets_redacted;
  e["outcome"] = outcome;
  if (error) e["error_code"] = error->code;
  e["latency_us"] = us;
  return e;
}

server::Verdict AuditFilter::on_request(json::object& params, server::CallContext& ctx) {
  // Fail closed: a call that cannot be recorded does not run.
  if (!log_->available()) {
    log_->note_refused();
    metrics::Metrics::global().add("bastion_audit_refused_calls_total", "");
    ctx.notes.audit_unrecorded = true;
    return server::Verdict::reject(
        {protocol::kAuditUnavailable,
         "Audit log unavailable: the call was not run because it could not be recorded (the "
         "audit disk may be full); retry later"});
  }
  std::int64_t count = 0;
  if (auto* a = params.if_contains("arguments"); a && a->is_object())
    count = static_cast<std::int64_t>(a->get_object().size());
  ctx.notes.parameter_count = count;
  return {};
}

server::Verdict AuditFilter::on_response(json::object& result, server::CallContext& ctx) {
  bool is_error = false;
  if (auto* e = result.if_contains("isError"); e && e->is_bool()) is_error = e->get_bool();
  if (!record(ctx, is_error ? "tool_error" : "ok", nullptr)) {
    // Never answered without its record: the result is withheld.
    ctx.notes.audit_unrecorded = true;
    return server::Verdict::reject(
        {protocol::kAuditUnavailable,
         "Audit log unavailable: the call's audit record could not be written, so its result is "
         "withheld; retry later"});
  }
  return server::Verdict::unchanged();  // it only reads the result
}

void AuditFilter::on_error(protocol::RpcError& error, server::CallContext& ctx) {
  if (ctx.notes.audit_unrecorded) return;  // refused above: nothing to add
  std::string_view outcome = "error";
  if (ctx.notes.contains_pii && ctx.notes.pii_action == server::DataAction::kReject)
    outcome = "rejected";
  if (!ctx.notes.unresolved.empty()) outcome = ctx.notes.unresolved;  // "unknown" or "denied"
  record(ctx, outcome, &error);
}

bool AuditFilter::record(server::CallContext& ctx, std::string_view outcome,
                         const protocol::RpcError* error) {
  return log_->append(audit_event(ctx, outcome, error)) != 0;
}

}  // namespace bastion::audit
