// The audit filter: writes one audit record per tools/call, resources/read
// and prompts/get that passes the filter chain, with the seed's fields
// (timestamp, event_type, tool_name, user_id, client_id, contains_pii,
// action_taken, parameter_count) plus request and session ids, server,
// method, PII types and counts, decision, outcome and latency. It reads what
// the other filters noted in CallContext::notes; it never sees values.
//
// Put it first in the chain: its on_response then runs last, after the PII
// filter has decided.
//
// The record is written before the call is answered. Where the engine
// allows it (CallContext::can_defer) the filter only builds it and leaves it
// in CallContext::deferred; the engine's co_await of it suspends the call
// until the log's writer thread has written it with the records of other
// calls (group commit), so no I/O thread waits for the disk. Elsewhere, and
// while the log is backlogged, it is appended at once (that I/O thread waits).
//
// Fail closed: while the log is unavailable (audit disk full), or too many
// records wait for the writer (AuditLog::backlogged), on_request refuses the
// call with kAuditUnavailable before it runs; a call whose record cannot be
// written is answered with that error instead of its result.
// Calls to unknown or hidden targets reach on_error (the engine notes
// "route": "unknown" or "denied") and are recorded with that outcome.
//
// Thread-safety: stateless apart from the AuditLog, which is thread-safe.
#pragma once

#include <memory>

#include "audit/log.hpp"
#include "server/filter.hpp"

namespace bastion::audit {

class AuditFilter : public server::Filter {
 public:
  explicit AuditFilter(std::shared_ptr<AuditLog> log) : log_(std::move(log)) {}
  std::string_view name() const override { return "audit"; }
  server::Verdict on_request(boost::json::object& params, server::CallContext& ctx) override;
  server::Verdict on_response(boost::json::object& result, server::CallContext& ctx) override;
  void on_error(protocol::RpcError& error, server::CallContext& ctx) override;

 private:
  // False when the record could not be written; true also when it was
  // deferred (`withhold`: its failure then withholds the result).
  bool record(server::CallContext& ctx, std::string_view outcome, const protocol::RpcError* error,
              bool withhold);
  std::shared_ptr<AuditLog> log_;
};

// The record for one call, as AuditFilter writes it: its members as JSON
// text, sanitized (AuditLog::append_text adds seq, ts and prev).
std::string audit_record_text(const server::CallContext& ctx, std::string_view outcome,
                              const protocol::RpcError* error);

}  // namespace bastion::audit
