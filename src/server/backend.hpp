// What a Backend is: one source of tools, resources, prompts and completions
// behind the MCP session engine. The testkit, the seed's built-in tools and
// the gateway (all upstream servers) are backends. The engine merges their
// catalogues, routes each request to its owner and runs the filter chain.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/jsonrpc.hpp"
#include "server/context.hpp"

namespace bastion::server {

enum class Kind { kTool, kResource, kResourceTemplate, kPrompt };

// The list method of a kind ("tools/list") and the result field holding the
// items ("tools"): shared by the engine (server side) and the gateway (client side).
constexpr std::string_view list_method(Kind k) {
  switch (k) {
    case Kind::kTool:
      return "tools/list";
    case Kind::kResource:
      return "resources/list";
    case Kind::kResourceTemplate:
      return "resources/templates/list";
    case Kind::kPrompt:
      return "prompts/list";
  }
  return "";
}
constexpr std::string_view list_key(Kind k) {
  switch (k) {
    case Kind::kTool:
      return "tools";
    case Kind::kResource:
      return "resources";
    case Kind::kResourceTemplate:
      return "resourceTemplates";
    case Kind::kPrompt:
      return "prompts";
  }
  return "";
}

// How backends tell the engine that something changed. Thread-safe.
class BackendListener {
 public:
  virtual ~BackendListener() = default;
  virtual void list_changed(Kind kind) = 0;
  virtual void resource_updated(std::string_view uri) = 0;
  // A server-initiated message for every session (e.g. upstream log lines
  // not tied to a request). Rarely used.
  virtual void broadcast(boost::json::object notification) = 0;
};

// Thread-safety: every method may be called concurrently from many sessions.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;

  // Capabilities this backend contributes to the merged InitializeResult,
  // e.g. {"tools":{"listChanged":true},"resources":{"subscribe":true}}.
  virtual boost::json::object capabilities() const = 0;

  // The full catalogue of one kind as MCP objects (Tool, Resource,
  // ResourceTemplate, Prompt). The engine paginates the merged list.
  virtual boost::asio::awaitable<std::vector<boost::json::object>> list(Kind kind,
                                                                        RequestContext& ctx) = 0;

  // Routing: whether this backend serves the tool/prompt name, or resource URI
  // (exact or by template). Must be cheap and non-blocking.
  virtual bool owns(Kind kind, std::string_view key) const = 0;

  // Handles tools/call, resources/read, resources/subscribe,
  // resources/unsubscribe, prompts/get and completion/complete for what it
  // owns. `params` is the request's params object.
  virtual boost::asio::awaitable<protocol::Outcome> call(std::string_view method,
                                                         boost::json::object params,
                                                         RequestContext& ctx) = 0;

  // Who really serves `key` and under which name there (for policies and
  // audit): the gateway answers with the upstream server and its own tool
  // name; other backends with their name and the key as is.
  virtual std::pair<std::string, std::string> owner_of(Kind /*kind*/, std::string_view key) const {
    return {std::string(name()), std::string(key)};
  }

  // Client-side notifications the backend may care about
  // (notifications/roots/list_changed), and session teardown.
  virtual void on_client_notification(std::string_view /*session_id*/,
                                      const boost::json::object& /*msg*/) {}
  virtual void on_session_closed(std::string_view /*session_id*/) {}

  void set_listener(BackendListener* l) { listener_ = l; }

 protected:
  BackendListener* listener_ = nullptr;
};

}  // namespace bastion::server
