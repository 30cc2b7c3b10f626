#include "server/outbox.hpp"

#include <cassert>

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

}  // namespace bastion::server
