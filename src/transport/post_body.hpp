// Reading the body of a POST to the MCP endpoint as JSON-RPC: parsed once
// (duplicate keys refused), every message classified, and the shapes the
// transport refuses (empty batch, initialize inside a batch) turned into
// refusals. Pure: the endpoint's tests and the http_request fuzzer call it
// directly.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string_view>
#include <vector>

#include "protocol/expected.hpp"
#include "protocol/jsonrpc.hpp"
#include "transport/request_guards.hpp"

namespace bastion::transport {

// A POST body read as JSON-RPC.
struct PostBody {
  bool batch = false;
  std::vector<protocol::Message> messages;
  std::size_t requests = 0;  // messages that expect an answer
  bool initialize = false;   // one of them is initialize
  // The id of the body's only request, for HTTP-level errors about it; null
  // when there are none or several.
  boost::json::value id = nullptr;
};
// Parses and classifies a POST body: a parse error (-32700, also for
// duplicate keys), a malformed message (with its id), an empty batch, or
// initialize inside a batch are refusals.
protocol::Expected<PostBody, Refusal> read_post_body(std::string_view body);

}  // namespace bastion::transport
