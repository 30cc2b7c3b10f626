// The address of the client at the other end of an HTTP connection, as the
// transport hands it to the handlers it routes to (the authorization
// server: login throttling, registration rate limits, audit). The transport
// sets this header field on every routed request, replacing whatever the
// client sent under that name, so a handler can trust it as far as the TCP
// peer goes (behind a reverse proxy it is the proxy's address).
#pragma once

#include <string_view>

namespace bastion::protocol {

inline constexpr std::string_view kPeerAddressField = "Bastion-Peer-Address";

}  // namespace bastion::protocol
