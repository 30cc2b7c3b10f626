// A synchronous built-in tool: its MCP Tool definition and a handler that
// turns arguments into a CallToolResult. Used by the seed's OAuth2 and
// security tools, which do their work inline (no client round-trips).
#pragma once

#include <boost/json.hpp>
#include <functional>

#include "protocol/jsonrpc.hpp"
#include "protocol/principal.hpp"

namespace bastion::server {

struct SyncTool {
  // The MCP Tool object: name, title, description, inputSchema, optional
  // outputSchema and annotations.
  boost::json::object definition;
  // Returns a CallToolResult ({content:[...], structuredContent?, isError?})
  // or an RpcError (kInvalidParams for bad arguments). Must be thread-safe.
  std::function<protocol::Outcome(const boost::json::object& arguments,
                                  const protocol::Principal& caller)>
      call;
};

// Helpers for the common result shapes.
inline boost::json::object text_result(std::string text, bool is_error = false) {
  boost::json::object r;
  r["content"] =
      boost::json::array{boost::json::object{{"type", "text"}, {"text", std::move(text)}}};
  if (is_error) r["isError"] = true;
  return r;
}
// Text content carrying the serialized structured value, plus structuredContent.
inline boost::json::object structured_result(boost::json::object value) {
  boost::json::object r = text_result(boost::json::serialize(value));
  r["structuredContent"] = std::move(value);
  return r;
}

}  // namespace bastion::server
