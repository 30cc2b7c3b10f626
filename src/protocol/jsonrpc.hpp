// JSON-RPC 2.0 framing for MCP: message classification, constructors for
// responses/errors/notifications. The error codes are in errors.hpp.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/expected.hpp"

namespace bastion::protocol {

namespace json = boost::json;

// A JSON-RPC error object, carried as a value through the data plane.
struct RpcError {
  int code = kInternalError;
  std::string message;
  json::value data = nullptr;  // omitted when null

  json::object to_json() const;
};

// Either a result object or an error: what every request handler produces.
//
// A result relayed from an upstream may also carry the upstream's own text
// of it (the zero-copy relay: the client gets those bytes, not a rebuild).
// That text is dropped by every non-const result(): whoever may change the
// result loses it, so it is relayed only while nothing could have changed
// the parsed value since it was read. Read through a const Outcome (or
// std::as_const) to keep it.
class Outcome {
 public:
  Outcome(json::object result) : v_(std::move(result)) {}  // NOLINT: implicit by design
  Outcome(RpcError error) : v_(std::move(error)) {}        // NOLINT
  bool ok() const { return v_.index() == 0; }
  json::object& result() {
    raw_result_.clear();
    return std::get<0>(v_);
  }
  const json::object& result() const { return std::get<0>(v_); }
  RpcError& error() { return std::get<1>(v_); }
  const RpcError& error() const { return std::get<1>(v_); }

  // The result's JSON text as its upstream wrote it; empty when there is
  // none (a result made here, rebuilt, or possibly changed).
  const std::string& raw_result() const { return raw_result_; }
  // Attaches `text`, which the caller vouches is the JSON text of result()
  // that a strict parser (parse_json) accepted, one line. Only for a result.
  void set_raw_result(std::string text) {
    if (ok()) raw_result_ = std::move(text);
  }
  std::string take_raw_result() { return std::exchange(raw_result_, {}); }

 private:
  std::variant<json::object, RpcError> v_;
  std::string raw_result_;
};

RpcError invalid_params(std::string message);
RpcError method_not_found(std::string_view method);
RpcError internal_error(std::string message);

enum class MessageKind { kRequest, kNotification, kResponse, kError };

// A classified, validated JSON-RPC message. `raw` keeps the whole object so a
// relay can forward it without rebuilding it.
struct Message {
  MessageKind kind;
  json::value id;      // null for notifications
  std::string method;  // requests and notifications
  json::object raw;
  // The Mcp-Param-{Name} headers of the Streamable HTTP request that carried
  // a Modern request (name part as sent, raw value): the engine checks them
  // against the called tool's x-mcp-header annotations. nullopt where the
  // transport has no headers (stdio) or for Legacy requests (no such rule).
  std::optional<std::vector<std::pair<std::string, std::string>>> param_headers;

  const json::object* params() const;  // nullptr when absent
  // Moves the params out of `raw` (empty when absent): for the one who
  // serves the request and needs `raw` no more.
  json::object take_params();
};

// Validates one JSON-RPC message object. On failure returns the error to send
// back (with the id when one could be read).
struct ClassifyError {
  RpcError error;
  json::value id = nullptr;
};
Expected<Message, ClassifyError> classify(json::value v);

// Parses text into JSON with a depth limit; reports kParseError on failure,
// and for an object that repeats a key at any depth (compared after escapes
// are decoded): which value counts would depend on the reader.
Expected<json::value, RpcError> parse_json(std::string_view text);

json::object make_result(const json::value& id, json::object result);
json::object make_error(const json::value& id, const RpcError& error);
json::object make_notification(std::string_view method, json::object params);
json::object make_request(const json::value& id, std::string_view method, json::object params);
json::object make_response(const json::value& id, const Outcome& outcome);
// Same, taking the result (or error) out of `outcome` instead of copying it.
json::object make_response(const json::value& id, Outcome&& outcome);

// Valid JSON-RPC ids are strings or integers (MCP forbids null ids).
bool valid_id(const json::value& id);

// Serializes with Boost.JSON; never throws.
std::string to_string(const json::value& v);

}  // namespace bastion::protocol
