#include "protocol/jsonrpc.hpp"

#include <fmt/format.h>

namespace bastion::protocol {

json::object RpcError::to_json() const {
  json::object o;
  o["code"] = code;
  o["message"] = message;
  if (!data.is_null()) o["data"] = data;
  return o;
}

RpcError invalid_params(std::string message) { return {kInvalidParams, std::move(message)}; }

RpcError method_not_found(std::string_view method) {
  return {kMethodNotFound, fmt::format("Method not found: {}", method)};
}

RpcError internal_error(std::string message) { return {kInternalError, std::move(message)}; }

const json::object* Message::params() const {
  auto it = raw.find("params");
  if (it == raw.end()) return nullptr;
  return it->value().if_object();
}

bool valid_id(const json::value& id) { return id.is_string() || id.is_int64() || id.is_uint64(); }

std::variant<Message, ClassifyError> classify(json::value v) {
  auto* obj = v.if_object();
  if (!obj) return ClassifyError{{kInvalidRequest, "Invalid Request: message must be an object"}};
  json::value id = nullptr;
  auto id_it = obj->find("id");
  bool has_id = id_it != obj->end();
  if (has_id) id = id_it->value();

  auto bad = [&](std::string msg) {
    return ClassifyError{{kInvalidRequest, std::move(msg)}, valid_id(id) ? id : json::value()};
  };
  auto jr = obj->find("jsonrpc");
  if (jr == obj->end() || !jr->value().is_string() || jr->value().get_string() != "2.0")
    return bad("Invalid Request: jsonrpc must be \"2.0\"");
  if (has_id && !valid_id(id)) return bad("Invalid Request: id must be a string or an integer");

  auto m = obj->find("method");
  if (m != obj->end()) {
    if (!m->value().is_string()) return bad("Invalid Request: method must be a string");
    auto p = obj->find("params");
    if (p != obj->end() && !p->value().is_object())
      return ClassifyError{{kInvalidParams, "Invalid params: params must be an object"},
                           has_id ? id : json::value()};
    Message msg{has_id ? MessageKind::kRequest : MessageKind::kNotification, id,
                std::string(m->value().get_string()), std::move(*obj)};
    return msg;
  }
  if (!has_id) return bad("Invalid Request: missing method");
  bool has_result = obj->contains("result");
  auto e = obj->find("error");
  bool has_error = e != obj->end();
  if (has_result == has_error)
    return bad("Invalid Request: response needs exactly one of result/error");
  if (has_error && !e->value().is_object()) return bad("Invalid Request: error must be an object");
  return Message{
      has_result ? MessageKind::kResponse : MessageKind::kError, id, {}, std::move(*obj)};
}

std::variant<json::value, RpcError> parse_json(std::string_view text) {
  json::parse_options opt;
  opt.max_depth = 64;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec) return RpcError{kParseError, fmt::format("Parse error: {}", ec.message())};
  return v;
}

json::object make_result(const json::value& id, json::object result) {
  json::object o;
  o["jsonrpc"] = "2.0";
  o["id"] = id;
  o["result"] = std::move(result);
  return o;
}

json::object make_error(const json::value& id, const RpcError& error) {
  json::object o;
  o["jsonrpc"] = "2.0";
  o["id"] = id;
  o["error"] = error.to_json();
  return o;
}

json::object make_notification(std::string_view method, json::object params) {
  json::object o;
  o["jsonrpc"] = "2.0";
  o["method"] = method;
  if (!params.empty()) o["params"] = std::move(params);
  return o;
}

json::object make_request(const json::value& id, std::string_view method, json::object params) {
  json::object o;
  o["jsonrpc"] = "2.0";
  o["id"] = id;
  o["method"] = method;
  o["params"] = std::move(params);
  return o;
}

json::object make_response(const json::value& id, const Outcome& outcome) {
  return outcome.ok() ? make_result(id, outcome.result()) : make_error(id, outcome.error());
}

std::string to_string(const json::value& v) { return json::serialize(v); }

}  // namespace bastion::protocol
