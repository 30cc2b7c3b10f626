#include "audit/filter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstring>
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
// string as sanitize_event() would leave it. Each member is written with
// one bounds check into a buffer sized for the usual record.
class RecordText {
 public:
  void text(std::string_view key, std::string_view v) {
    if (copied_as_is(v)) {
      char* p = member(key, v.size() + 2);
      *p++ = '"';
      p = put(p, v);
      *p = '"';
      return;
    }
    std::string json;
    append_sanitized_json(json, v);
    put(member(key, json.size()), json);
  }
  void number(std::string_view key, std::int64_t v) {
    std::array<char, 24> buf;
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    put(member(key, static_cast<std::size_t>(end - buf.data())), std::string_view(buf.data(), end));
  }
  void boolean(std::string_view key, bool v) {
    const std::string_view text = v ? "true" : "false";
    put(member(key, text.size()), text);
  }
  // {"type": count, ...}; a type named as a credential is removed, as
  // sanitize_event() removes such a member (names stay as they are there).
  void counts(std::string_view key, const std::map<std::string, std::int64_t, std::less<>>& m) {
    std::string json = "{";
    for (const auto& [type, count] : m) {
      if (json.size() > 1) json += ',';
      protocol::append_json_string(json, type);
      json += ':';
      if (credential_name(type))
        protocol::append_json_string(json, kRemoved);
      else
        json += std::to_string(count);
    }
    json += '}';
    put(member(key, json.size()), json);
  }
  std::string take() {
    *grow(1) = '}';
    out_.resize(size_);
    return std::move(out_);
  }

 private:
  // Writes the member's name (this file's constants: none is a credential's,
  // none holds a byte JSON escapes) and returns where its value of
  // `value_size` bytes goes.
  char* member(std::string_view key, std::size_t value_size) {
    const bool first = size_ == 0;
    char* p = grow(key.size() + 4 + value_size);
    *p++ = first ? '{' : ',';
    *p++ = '"';
    p = put(p, key);
    *p++ = '"';
    *p++ = ':';
    return p;
  }
  static char* put(char* p, std::string_view s) {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());  // an empty view's data() may be null
    return p + s.size();
  }
  // The next `n` bytes of the text, for the caller to write.
  char* grow(std::size_t n) {
    const std::size_t at = size_;
    size_ += n;
    if (size_ > out_.size()) out_.resize(std::max(size_, 2 * out_.size()));
    return out_.data() + at;
  }
  std::string out_ = std::string(512, '\0');  // [0, size_) written
  std::size_t size_ = 0;
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
