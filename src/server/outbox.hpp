// What a session sends toward a client, as a transport sees it: typed
// entries, so "is this the final message of a request" is decided once, by
// the session that produces it, and never read back out of the JSON.
#pragma once

#include <boost/json.hpp>
#include <optional>

#include "server/mailbox.hpp"

namespace bastion::server {

struct Outgoing {
  // A notification or a server-to-client request: part of a request's
  // stream (progress, logging, sampling) or of the standalone stream.
  Outgoing(boost::json::object msg) : message(std::move(msg)) {}  // NOLINT: implicit by design

  // The response that ends its request.
  static Outgoing response(boost::json::object msg) {
    Outgoing o(std::move(msg));
    o.ends_request = true;
    return o;
  }
  // The end of a request that gets no response (it was cancelled): nothing
  // to write, but a stream waiting for it may finish.
  static Outgoing end_without_response() {
    Outgoing o{boost::json::object{}};
    o.message.reset();
    o.ends_request = true;
    return o;
  }

  std::optional<boost::json::object> message;  // empty only for end_without_response()
  bool ends_request = false;
};

using Outbox = BasicMailbox<Outgoing>;
extern template class BasicMailbox<Outgoing>;

}  // namespace bastion::server
