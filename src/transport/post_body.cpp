#include "transport/post_body.hpp"

#include <string>
#include <utility>

namespace bastion::transport {

namespace json = boost::json;
using protocol::kInvalidRequest;

protocol::Expected<PostBody, Refusal> read_post_body(std::string_view text) {
  auto parsed = protocol::parse_json(text);
  if (!parsed) {
    const auto& e = parsed.error();
    return Refusal{http::status::bad_request, e.code, e.message};
  }
  json::value& v = parsed.value();
  std::vector<json::value> items;
  PostBody body;
  if (v.is_array()) {
    body.batch = true;
    for (auto& e : v.get_array()) {
      if (!e.is_object()) return bad_request("Invalid Request: batch items must be objects");
      items.push_back(std::move(e));
    }
    if (items.empty()) return bad_request("Invalid Request: empty batch");
  } else if (v.is_object()) {
    items.push_back(std::move(v));
  } else {
    return bad_request("Invalid Request: expected a JSON-RPC object");
  }
  // Classify up front: invalid messages are answered here, and the POST must
  // know how many answers it waits for.
  body.messages.reserve(items.size());
  for (auto& item : items) {
    auto c = protocol::classify(std::move(item));
    if (!c) {
      auto& e = c.error();
      return Refusal{http::status::bad_request, e.error.code, e.error.message, e.id};
    }
    auto& msg = c.value();
    if (msg.kind == protocol::MessageKind::kRequest) {
      body.id = ++body.requests == 1 ? msg.id : json::value(nullptr);
      body.initialize |= msg.method == "initialize";
    }
    body.messages.push_back(std::move(msg));
  }
  // Nothing is negotiated before initialize, so it cannot ride in a batch
  // (batches exist only in 2025-03-26, and only on a session that chose it).
  if (body.batch && body.initialize)
    return bad_request("Invalid Request: initialize must be sent alone, not in a batch", body.id);
  return body;
}

}  // namespace bastion::transport
