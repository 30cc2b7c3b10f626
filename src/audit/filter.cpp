#include "audit/filter.hpp"

#include <fmt/format.h>

#include <array>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <iterator>
#include <map>
#include <optional>
#include <string_view>

#include "audit/async_append.hpp"
#include "audit/sanitize.hpp"
#include "metrics/metrics.hpp"
#include "protocol/json_text.hpp"

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

// A call record's members, written as JSON text where they are read (no
// JSON value is built, copied or serialized for it: that was ~16k
// instructions of a direct tools/call, bench/results/profile.md), each
// string as sanitize_event() would leave it.
class RecordText {
 public:
  RecordText() { out_.reserve(512); }
  void text(std::string_view key, std::string_view v) {
    name(key);
    append_sanitized_json(out_, v);
  }
  void number(std::string_view key, std::int64_t v) {
    name(key);
    append_number(v);
  }
  void boolean(std::string_view key, bool v) {
    name(key);
    out_ += v ? "true" : "false";
  }
  // {"type": count, ...}; a type named as a credential is removed, as
  // sanitize_event() removes such a member (names stay as they are there).
  void counts(std::string_view key, const std::map<std::string, std::int64_t, std::less<>>& m) {
    name(key);
    out_ += '{';
    bool first = true;
    for (const auto& [type, count] : m) {
      if (!first) out_ += ',';
      first = false;
      protocol::append_json_string(out_, type);
      out_ += ':';
      if (credential_name(type))
        protocol::append_json_string(out_, kRemoved);
      else
        append_number(count);
    }
    out_ += '}';
  }
  std::string take() {
    out_ += '}';
    return std::move(out_);
  }

 private:
  // The member names are this file's constants: none is a credential's, and
  // none holds a byte JSON escapes, so they are copied as they are.
  void name(std::string_view key) {
    out_ += out_.empty() ? '{' : ',';
    out_ += '"';
    out_ += key;
    out_ += "\":";
  }
  void append_number(std::int64_t v) {
    std::array<char, 24> buf;
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out_.append(buf.data(), end);
  }
  std::string out_;
};

}  // namespace

std::string audit_record_text(const server::CallContext& ctx, std::string_view outcome,
                              const protocol::RpcError* error) {
  const server::CallNotes& n = ctx.notes;
  bool pii = n.contains_pii;
  std::string_view action = !pii                                           ? "none"
                            : n.pii_action == server::DataAction::kAllow   ? "allowed"
                            : n.pii_action == server::DataAction::kMask    ? "masked"
                            : n.pii_action == server::DataAction::kEncrypt ? "encrypted"
                                                                           : "rejected";
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  ctx.started)
                .count();
  RecordText r;
  r.text("event_type", event_type(ctx.method));
  r.text("tool_name", ctx.target);
  r.text("server", ctx.server);
  r.text("method", ctx.method);
  r.text("user_id", ctx.caller.subject);
  r.text("client_id", ctx.caller.client_id);
  r.boolean("contains_pii", pii);
  r.text("action_taken", action);
  r.number("parameter_count", n.parameter_count);
  r.text("request_id", ctx.request_id);
  r.text("session_id", ctx.session_id);
  if (pii) {
    r.counts("pii", n.pii);
    r.text("decision", to_string(n.pii_action));
  }
  if (n.secrets_redacted) r.number("secrets_redacted", n.secrets_redacted);
  r.text("outcome", outcome);
  if (error) r.number("error_code", error->code);
  r.number("latency_us", us);
  return r.take();
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
  DeferredRecord(std::shared_ptr<AuditLog> log, std::string record, bool withhold)
      : log_(std::move(log)), record_(std::move(record)), withhold_(withhold) {}
  boost::asio::awaitable<std::optional<protocol::RpcError>> run(server::CallContext& ctx) override {
    const std::uint64_t seq =
        co_await async_append_text(*log_, std::move(record_), boost::asio::use_awaitable);
    if (seq != 0) co_return std::nullopt;
    ctx.notes.audit_unrecorded = true;
    if (!withhold_) co_return std::nullopt;  // the call failed anyway: its error stands
    co_return withheld();
  }

 private:
  std::shared_ptr<AuditLog> log_;
  std::string record_;  // audit_record_text()
  bool withhold_;       // a result that must not go out without its record
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
        std::make_unique<DeferredRecord>(log_, audit_record_text(ctx, outcome, error), withhold);
    return true;
  }
  return log_->append_text(audit_record_text(ctx, outcome, error)) != 0;
}

}  // namespace bastion::audit
