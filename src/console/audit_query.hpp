// Filters for browsing and exporting the audit log (the console's Audit
// page, GET /console/api/audit and /audit/export), parsed from a query
// string that comes from anyone who can reach the console: every value is
// bounded and checked, and a bad one is an error value naming the parameter.
//
//   from, to   ISO 8601 UTC times ("2026-12-02", "2026-12-02T15:04",
//              "2026-12-02T15:04:05Z"); a record matches when from <= ts < to
//   event      an event_type (tool_call, pin_changed, console_action, ...)
//   server     the record's server
//   tool       its tool_name (or name)
//   client     its client_id
//   before     only records with seq < before (paging backwards)
//   limit      1..500 (default 100)
//
// Thread-safety: values and pure functions.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace bastion::console {

struct AuditQuery {
  std::string from, to;  // normalized ISO prefixes; empty: unbounded
  std::string event, server, tool, client;
  std::uint64_t before = 0;  // 0: from the newest
  std::size_t limit = 100;

  // Whether record `r` passes every filter (not `before`/`limit`).
  bool matches(const boost::json::object& r) const;
};

inline constexpr std::size_t kMaxAuditLimit = 500;

// From a request target's query. Errors: "<param>: <why>".
std::variant<AuditQuery, std::string> parse_audit_query(std::string_view target);

// "2026-12-02T15:04" -> itself when it is a valid ISO 8601 UTC time prefix
// (date, optional THH:MM[:SS[.fff]], optional Z; the Z is dropped); empty otherwise.
std::string normalize_time(std::string_view s);

}  // namespace bastion::console
