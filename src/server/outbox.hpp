// What a session sends toward a client, as a transport sees it: typed
// entries, so "is this the final message of a request" is decided once, by
// the session that produces it, and never read back out of the JSON.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>

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

  // The response to `id` whose result is an upstream's own text (the
  // zero-copy relay): `message` holds jsonrpc and id, `raw_result` the
  // result's JSON text as protocol::Outcome::raw_result vouches for it.
  static Outgoing relayed_result(const boost::json::value& id, std::string raw_result) {
    Outgoing o = response(boost::json::object{{"jsonrpc", "2.0"}, {"id", id}});
    o.raw_result = std::move(raw_result);
    return o;
  }

  std::optional<boost::json::object> message;  // empty only for end_without_response()
  bool ends_request = false;
  // What it counts against its outbox's byte capacity (BasicMailbox): set
  // for a notification when the outbox has one (approx_json_bytes).
  std::size_t budgeted = 0;
  // When set: the text of the message's "result", which `message` lacks.
  // Transports write wire_text(), never `message` alone.
  std::string raw_result;
};

// The JSON text of `o.message` as it goes on the wire: with raw_result
// spliced in as its "result" member when there is one. `o.message` must be
// set. Never throws except std::bad_alloc.
std::string wire_text(const Outgoing& o);

// About the bytes `o` takes as JSON text (strings and keys by their
// length, a number or literal as 8): enough to bound a queue, without
// serializing. Walks every node once.
std::size_t approx_json_bytes(const boost::json::object& o);

using Outbox = BasicMailbox<Outgoing>;
extern template class BasicMailbox<Outgoing>;

}  // namespace bastion::server
