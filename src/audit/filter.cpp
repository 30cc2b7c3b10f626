#include "audit/filter.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/storage_ptr.hpp>
#include <cstddef>
#include <fmt/format.h>
#include <string_view>

#include "audit/async_append.hpp"
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

// Where a call's audit event lives: from the end of the call until its
// record is serialized (AuditLog::append_async), then all of it is freed at
// once. One allocation for the event instead of one per key, string and
// table (~13 per call, counted with a uprobe on malloc). The arena and its
// first block are that one allocation, small enough for glibc's per-thread
// cache (with the shared control block, under its 1,032-byte limit); an
// event larger than the block goes on in blocks from the heap.
class EventArena final : public json::memory_resource {
 public:
  EventArena() : mr_(block_, sizeof block_) {}

 private:
  void* do_allocate(std::size_t n, std::size_t align) override { return mr_.allocate(n, align); }
  void do_deallocate(void* p, std::size_t n, std::size_t align) override {
    mr_.deallocate(p, n, align);
  }
  bool do_is_equal(const json::memory_resource& other) const noexcept override {
    return this == &other;
  }

  alignas(std::max_align_t) unsigned char block_[768];
  json::monotonic_resource mr_;
};
static_assert(sizeof(EventArena) <= 960, "an event arena stays under glibc's tcache limit");

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
  json::object e(json::make_shared_resource<EventArena>());
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

namespace {

protocol::RpcError withheld() {
  return {protocol::kAuditUnavailable,
          "Audit log unavailable: the call's audit record could not be written, so its result is "
          "withheld; retry later"};
}

// The call's record, written by the log's writer thread after the chain
// (the engine awaits it before answering).
class DeferredRecord final : public server::Deferred {
 public:
  DeferredRecord(std::shared_ptr<AuditLog> log, json::object event, bool withhold)
      : log_(std::move(log)), event_(std::move(event)), withhold_(withhold) {}
  boost::asio::awaitable<std::optional<protocol::RpcError>> run(server::CallContext& ctx) override {
    const std::uint64_t seq =
        co_await async_append(*log_, std::move(event_), boost::asio::use_awaitable);
    if (seq != 0) co_return std::nullopt;
    ctx.notes.audit_unrecorded = true;
    if (!withhold_) co_return std::nullopt;  // the call failed anyway: its error stands
    co_return withheld();
  }

 private:
  std::shared_ptr<AuditLog> log_;
  json::object event_;
  bool withhold_;  // a result that must not go out without its record
};

// A call refused because it cannot be recorded: counted, noted for the
// access log, and answered with why.
server::Verdict refuse_unrecorded(server::CallContext& ctx, std::string_view why) {
  metrics::Metrics::global().add("bastion_audit_refused_calls_total", "");
  ctx.notes.audit_unrecorded = true;
  return server::Verdict::reject(
      {protocol::kAuditUnavailable,
       fmt::format("Audit log unavailable: the call was not run because {}; retry later", why)});
}

}  // namespace

server::Verdict AuditFilter::on_request(json::object& params, server::CallContext& ctx) {
  // Fail closed: a call that cannot be recorded does not run.
  if (!log_->available()) {
    log_->note_refused();
    return refuse_unrecorded(ctx, "it could not be recorded (the audit disk may be full)");
  }
  // Bounded memory: while the writer is that far behind, no new call runs.
  if (log_->backlogged())
    return refuse_unrecorded(ctx, "too many audit records are waiting to be written");
  std::int64_t count = 0;
  if (auto* a = params.if_contains("arguments"); a && a->is_object())
    count = static_cast<std::int64_t>(a->get_object().size());
  ctx.notes.parameter_count = count;
  return {};
}

server::Verdict AuditFilter::on_response(json::object& result, server::CallContext& ctx) {
  bool is_error = false;
  if (auto* e = result.if_contains("isError"); e && e->is_bool()) is_error = e->get_bool();
  if (!record(ctx, is_error ? "tool_error" : "ok", nullptr, true)) {
    // Never answered without its record: the result is withheld.
    ctx.notes.audit_unrecorded = true;
    return server::Verdict::reject(withheld());
  }
  return server::Verdict::unchanged();  // it only reads the result
}

void AuditFilter::on_error(protocol::RpcError& error, server::CallContext& ctx) {
  // Refused above, or the record was queued already (and could not be
  // written): one record per call.
  if (ctx.notes.audit_unrecorded || ctx.deferred) return;
  std::string_view outcome = "error";
  if (ctx.notes.contains_pii && ctx.notes.pii_action == server::DataAction::kReject)
    outcome = "rejected";
  if (!ctx.notes.unresolved.empty()) outcome = ctx.notes.unresolved;  // "unknown" or "denied"
  record(ctx, outcome, &error, false);
}

bool AuditFilter::record(server::CallContext& ctx, std::string_view outcome,
                         const protocol::RpcError* error, bool withhold) {
  // Backlogged: written on this thread, which waits for the writer (as
  // before the group commit). Records that on_request cannot refuse (calls
  // to unknown targets, refused Mcp-Param headers, tasks/get results) then
  // hold their I/O thread instead of growing the queue: memory stays bounded.
  if (ctx.can_defer && !ctx.deferred && !log_->backlogged()) {
    ctx.deferred =
        std::make_unique<DeferredRecord>(log_, audit_event(ctx, outcome, error), withhold);
    return true;
  }
  return log_->append(audit_event(ctx, outcome, error)) != 0;
}

}  // namespace bastion::audit
