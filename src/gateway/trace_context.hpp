// W3C trace context (`traceparent`, `tracestate`) that a client put in a
// request's `_meta`, as the gateway relays it to an upstream: kept when
// well-formed, so a trace spans client, Bastion and server; dropped when
// not, so a malformed or hostile value (header injection, oversized state)
// never reaches a server that may copy it into its own HTTP headers or logs.
// Pure functions; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <string_view>

namespace bastion::gateway {

// A W3C tracestate: at most 32 comma-separated `key=value` members (empty
// members allowed), keys `[a-z0-9_\-*/@]` starting with a letter or digit,
// values printable ASCII without ',' and '=' and not ending in a space,
// 512 bytes at most.
bool valid_tracestate(std::string_view v);

// Applies the rules above to `meta` (a request's `_meta`): a traceparent
// that is not a string or not valid is removed with any tracestate; a
// tracestate without a valid traceparent, or not valid itself, is removed.
void sanitize_trace_context(boost::json::object& meta);

}  // namespace bastion::gateway
