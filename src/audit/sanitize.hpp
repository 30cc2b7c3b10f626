// What may never reach an audit record, enforced where every record is
// built (AuditLog::append), whatever the caller passed: query strings and
// fragments of URLs and paths (`/mcp?access_token=...`), bearer tokens and
// JWTs anywhere in a string, credential-named members (authorization,
// cookie, headers, *token, *secret, password, ...) and `name=value` pairs
// with such names; strings are cut at 1 KiB so a client cannot make one
// record huge (an unknown tool's name, a reason).
//
// Callers still pass types, counts and names only; this is the net under
// them, so a new event type cannot leak a credential by mistake.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace bastion::audit {

inline constexpr std::size_t kMaxRecordString = 1024;
// What a removed credential's value becomes.
inline constexpr std::string_view kRemoved = "[removed]";

// Rewrites `event` in place (recursively).
void sanitize_event(boost::json::object& event);
// One string value as sanitize_event leaves it.
std::string sanitize_string(std::string_view s);
// The same, or nullopt when it leaves `s` as it is (the usual case: one
// pass over it, nothing allocated).
std::optional<std::string> sanitized(std::string_view s);
// Appends `s` as sanitize_string() leaves it, written as a JSON string
// (protocol::append_json_string): a record's string member as it is built.
// The usual value (no byte that JSON escapes or that a rule starts from) is
// copied as it is after one pass, nothing allocated.
void append_sanitized_json(std::string& out, std::string_view s);
// Whether append_sanitized_json() writes `s` as it is between quotes: no
// byte in it that JSON escapes or a rule starts from, and not over the cap.
bool copied_as_is(std::string_view s);
// Whether sanitize_event removes the value of a member named `name`
// (credential and header names, any ASCII case), whatever it holds.
bool credential_name(std::string_view name);

}  // namespace bastion::audit
