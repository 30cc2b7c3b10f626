// Route: where one client request goes, decided once and handed down.
// Envoy's model: the engine resolves a tools/call, prompts/get,
// resources/read (or subscribe, completion) into this record, and the same
// record is what the scope check, every filter of the chain and the backend
// see — nobody looks the name up again.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "protocol/jsonrpc.hpp"

namespace bastion::server {

class Backend;

enum class Kind { kTool, kResource, kResourceTemplate, kPrompt };

struct Route {
  Kind kind = Kind::kTool;
  // The key as the client sent it: an exposed tool or prompt name, or a
  // resource URI (or URI template, for completions).
  std::string key;
  // Who really serves it: the upstream server's name for the gateway, the
  // backend's own name otherwise. Scopes, policies and audit records name it.
  std::string server;
  // Its name (or URI) at that server.
  std::string name;
  Backend* backend = nullptr;  // owned by the engine, lives as long as it
  // Backend-private detail of the destination (the gateway keeps the
  // upstream here, and after settle() the instance serving this session).
  std::shared_ptr<void> target;
  // False while the backend knows the owner but not yet everything about the
  // destination (a lazy upstream that has not listed, the instance of a
  // per-session server): Backend::settle() completes it, once, before the call.
  bool settled = true;
  // Set when the backend owns the key but refuses to route it (a resource
  // URI that several servers claim): the client gets this error.
  std::optional<protocol::RpcError> refusal;
};

}  // namespace bastion::server
