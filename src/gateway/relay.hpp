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
  bool operator==(const RelayOptions&) const = default;
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

// What a Legacy session serving one client's requests should declare in
// initialize: the kinds `relay` lets through that the client declared too
// (elicitation only when the client takes form mode, the one mode Bastion
// declares upstream). A Legacy server learns capabilities once per session,
// so a Modern request that declares less than a shared session promised is
// served by a session that promises only this (gateway.hpp). At most
// 2^3 sets, whatever the client writes in its capability objects.
RelayOptions declared_for(const RelayOptions& relay, const boost::json::object& client_caps);
// The set's name, as in logs: "sampling+elicitation+roots", "none".
std::string capability_set_name(const RelayOptions& declared);

}  // namespace bastion::gateway
