#include "server/outbox.hpp"

#include <cassert>
#include <vector>

#include "protocol/json_text.hpp"

namespace bastion::server {

// Compiled once here; every other file sees the extern declaration.
template class BasicMailbox<Outgoing>;

std::string wire_text(const Outgoing& o) {
  assert(o.message);
  std::string out = protocol::json_text(*o.message);
  if (o.raw_result.empty()) return out;
  // `message` is a non-empty object (jsonrpc, id): its closing brace gives
  // way to one more member.
  assert(out.size() > 2 && out.back() == '}');
  out.pop_back();
  out.reserve(out.size() + o.raw_result.size() + 12);
  out += ",\"result\":";
  out += o.raw_result;
  out += '}';
  return out;
}

std::size_t approx_json_bytes(const boost::json::object& o) {
  std::size_t n = 2;
  std::vector<const boost::json::value*> todo;
  for (const auto& kv : o) {
    n += kv.key().size() + 4;
    todo.push_back(&kv.value());
  }
  // Iterative: a deep value costs no stack.
  while (!todo.empty()) {
    const boost::json::value* v = todo.back();
    todo.pop_back();
    switch (v->kind()) {
      case boost::json::kind::string:
        n += v->get_string().size() + 2;
        break;
      case boost::json::kind::object:
        n += 2;
        for (const auto& kv : v->get_object()) {
          n += kv.key().size() + 4;
          todo.push_back(&kv.value());
        }
        break;
      case boost::json::kind::array:
        n += 2;
        for (const auto& e : v->get_array()) {
          n += 1;
          todo.push_back(&e);
        }
        break;
      default:
        n += 8;
    }
  }
  return n;
}

}  // namespace bastion::server
