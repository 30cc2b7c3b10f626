#include "protocol/jsonrpc.hpp"

#include <fmt/format.h>

#include <boost/json/basic_parser_impl.hpp>
#include <cmath>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "protocol/json_text.hpp"

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

json::object Message::take_params() {
  auto it = raw.find("params");
  if (it == raw.end() || !it->value().is_object()) return {};
  return std::move(it->value().get_object());
}

bool valid_id(const json::value& id) { return id.is_string() || id.is_int64() || id.is_uint64(); }

Expected<Message, ClassifyError> classify(json::value v) {
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

namespace {

// The handler json::parser uses (a value_stack), plus the keys of every open
// object: a JSON text whose objects repeat a key is refused instead of
// silently keeping the last value. Two readers of one message (a filter and
// an upstream, a proxy and Bastion) could otherwise see different arguments.
//
// Keys live on a stack (one arena, popped when their object closes); a small
// object is searched linearly, and past kLinear keys a hash set takes over, so
// an object with a hundred thousand keys costs no more than building it.
struct StrictHandler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();
  static constexpr std::size_t kLinear = 16;

  struct Span {
    std::size_t offset, size;
  };
  struct Level {
    std::size_t first_span, arena_size;
    std::unique_ptr<std::unordered_set<std::string>> big;
  };
  // The key stack's memory, kept per thread from one parse to the next: a
  // message costs no allocation beyond what the value itself needs.
  struct Scratch {
    std::string arena;          // keys of open objects, back to back
    std::vector<Span> spans;    // into `arena`
    std::vector<Level> levels;  // one per open object
    std::string part;           // a key arriving in parts
  };

  StrictHandler(unsigned char* temp, std::size_t size)
      : st({}, temp, size),
        arena(scratch().arena),
        spans(scratch().spans),
        levels(scratch().levels),
        part(scratch().part) {
    arena.clear();
    spans.clear();
    levels.clear();
    part.clear();
  }
  static Scratch& scratch() {
    static thread_local Scratch s;
    return s;
  }

  json::value_stack st;
  std::string& arena;
  std::vector<Span>& spans;
  std::vector<Level>& levels;
  std::string& part;
  std::string duplicate;      // set when refused
  bool out_of_range = false;  // a number beyond double (1e400), refused

  // False when the innermost open object already has `key`.
  bool remember(std::string_view key) {
    Level& l = levels.back();
    if (l.big) return l.big->emplace(key).second;
    for (std::size_t i = l.first_span; i < spans.size(); ++i)
      if (std::string_view(arena).substr(spans[i].offset, spans[i].size) == key) return false;
    if (spans.size() - l.first_span >= kLinear) {
      l.big = std::make_unique<std::unordered_set<std::string>>();
      for (std::size_t i = l.first_span; i < spans.size(); ++i)
        l.big->emplace(arena, spans[i].offset, spans[i].size);
      return l.big->emplace(key).second;
    }
    spans.push_back({arena.size(), key.size()});
    arena.append(key);
    return true;
  }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    levels.push_back({spans.size(), arena.size(), nullptr});
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code&) {
    spans.resize(levels.back().first_span);
    arena.resize(levels.back().arena_size);
    levels.pop_back();
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    part.append(s.data(), s.size());
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    std::string_view key(s.data(), s.size());
    if (!part.empty()) {
      part.append(key);
      key = part;
    }
    if (!remember(key)) {
      duplicate = key;
      ec = json::error::syntax;  // any code: parse_json reports `duplicate`
      return false;
    }
    part.clear();
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code& ec) {
    // 1e400 reads as infinity, which serializes as "Infinity": not JSON, so a
    // relayed message or an audit record would no longer parse (found by
    // fuzz/jsonrpc).
    if (!std::isfinite(d)) {
      out_of_range = true;
      ec = json::error::exponent_overflow;
      return false;
    }
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

}  // namespace

Expected<json::value, RpcError> parse_json(std::string_view text) {
  json::parse_options opt;
  opt.max_depth = 64;
  unsigned char temp[BOOST_JSON_STACK_BUFFER_SIZE];
  json::basic_parser<StrictHandler> p(opt, temp, sizeof temp);
  p.handler().st.reset();
  json::error_code ec;
  std::size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (!ec && n < text.size()) ec = json::error::extra_data;
  if (ec) {
    if (!p.handler().duplicate.empty())
      return RpcError{kParseError, fmt::format("Parse error: duplicate key \"{}\" in an object",
                                               p.handler().duplicate.substr(0, 64))};
    if (p.handler().out_of_range)
      return RpcError{kParseError, "Parse error: a number is out of range (beyond a double)"};
    return RpcError{kParseError, fmt::format("Parse error: {}", ec.message())};
  }
  return p.handler().st.release();
}

// Each message below is made with room for its members (json::object's
// min_capacity): filled from empty by operator[], it would grow (allocate
// and rehash) for each of them.

json::object make_result(const json::value& id, json::object result) {
  json::object o(3);
  o["jsonrpc"] = "2.0";
  o["id"] = id;
  o["result"] = std::move(result);
  return o;
}

json::object make_error(const json::value& id, const RpcError& error) {
  json::object o(3);
  o["jsonrpc"] = "2.0";
  o["id"] = id;
  o["error"] = error.to_json();
  return o;
}

json::object make_notification(std::string_view method, json::object params) {
  json::object o(3);
  o["jsonrpc"] = "2.0";
  o["method"] = method;
  if (!params.empty()) o["params"] = std::move(params);
  return o;
}

json::object make_request(const json::value& id, std::string_view method, json::object params) {
  json::object o(4);
  o["jsonrpc"] = "2.0";
  o["id"] = id;
  o["method"] = method;
  o["params"] = std::move(params);
  return o;
}

json::object make_response(const json::value& id, const Outcome& outcome) {
  return outcome.ok() ? make_result(id, outcome.result()) : make_error(id, outcome.error());
}

json::object make_response(const json::value& id, Outcome&& outcome) {
  return outcome.ok() ? make_result(id, std::move(outcome.result()))
                      : make_error(id, outcome.error());
}

std::string to_string(const json::value& v) { return json_text(v); }

}  // namespace bastion::protocol
