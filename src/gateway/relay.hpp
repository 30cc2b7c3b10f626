// Which server-to-client requests Bastion relays from an upstream to a
// client, and what it promises the upstream in initialize. Pure functions.
//
// A request (sampling/createMessage, elicitation/create, roots/list) reaches
// a client only when the server's `relay` setting allows that kind and the
// client declared the capability in its own initialize: `sampling` (and
// `sampling.tools` for a request that offers tools), `elicitation` with the
// request's mode (an empty object means form only), `roots`. Anything else
// gets an error back to the upstream, never a guess.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace bastion::gateway {

struct RelayOptions {
  bool sampling = true;     // sampling/createMessage: the client's model answers the server
  bool elicitation = true;  // elicitation/create: the client's user is asked for input
  bool roots = true;        // roots/list: the client's filesystem roots are disclosed
};

// Why `method` (with `params`) must not go to a client that declared
// `client_caps`, given the server's `relay` setting; nullopt: it may.
std::optional<std::string> relay_refusal(std::string_view method, const boost::json::object& params,
                                         const RelayOptions& relay,
                                         const boost::json::object& client_caps);

// The capabilities Bastion declares to an upstream: only what `relay` lets
// through; roots changes are forwarded to per-session instances only (a
// shared one serves clients whose roots differ).
boost::json::object upstream_client_capabilities(const RelayOptions& relay, bool per_session);

}  // namespace bastion::gateway
