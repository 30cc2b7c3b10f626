// What a Backend is: one source of tools, resources, prompts and completions
// behind the MCP session engine. The testkit, the seed's built-in tools and
// the gateway (all upstream servers) are backends. The engine merges their
// catalogues, routes each request to its owner and runs the filter chain.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/expected.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/param_headers.hpp"
#include "server/context.hpp"
#include "server/route.hpp"

namespace bastion::server {

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

// Who may receive a server-initiated message that belongs to no client
// request: the sessions allowed to use `server` (the engine's server
// authorizer decides), or, when `session` is set, only that session (and
// only if it is allowed too). Never simply every session.
struct Audience {
  std::string_view server;
  std::string_view session;  // empty: every session allowed to use `server`
};

// How backends tell the engine that something changed. Thread-safe.
class BackendListener {
 public:
  virtual ~BackendListener() = default;
  virtual void list_changed(Kind kind) = 0;
  // A list changed by what `to.server` serves: only the sessions (and
  // Modern listens) allowed to use that server hear it.
  virtual void list_changed(Kind kind, const Audience& /*to*/) { list_changed(kind); }
  // notifications/resources/updated for the sessions of `to` subscribed to `uri`.
  virtual void resource_updated(const Audience& to, std::string_view uri) = 0;
  // A notification tied to no request (e.g. an upstream's log line sent
  // outside any call); notifications/message also honours each session's level.
  virtual void notify(const Audience& to, boost::json::object notification) = 0;
};

// One catalogue item as a backend lists it, with who serves it under which
// name (the engine checks visibility with these, without a lookup).
struct Listed {
  boost::json::object item;  // the MCP object as the client sees it
  std::string server;
  std::string name;  // the name (or URI) at `server`
};

using Settled = protocol::Expected<Route, protocol::RpcError>;

// A backend's answer to tasks/get, tasks/update or tasks/cancel (server/tasks.hpp)
// for one of the tasks it created, with who really runs the task: the filter
// chain sees a finished task's result as the call's own.
struct TaskReply {
  protocol::Outcome out;
  std::string server;
  std::string tool;  // the tool at `server`
};

// Thread-safety: every method may be called concurrently from many sessions.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;

  // Capabilities this backend contributes to the merged InitializeResult,
  // e.g. {"tools":{"listChanged":true},"resources":{"subscribe":true}}.
  virtual boost::json::object capabilities() const = 0;

  // Local backends (built-in tools, the testkit) are Bastion's own code;
  // the gateway is not. A name or URI both serve belongs to the local one.
  virtual bool local() const { return true; }

  // The full catalogue of one kind (Tool, Resource, ResourceTemplate,
  // Prompt objects) with their owners. The engine paginates the merged list.
  virtual boost::asio::awaitable<std::vector<Listed>> list(Kind kind, RequestContext& ctx) = 0;

  // Routing: the route to the tool/prompt name or resource URI (exact, or by
  // template) when this backend serves it, else nullopt. Cheap and
  // non-blocking (the HTTP layer calls it for its scope check too).
  virtual std::optional<Route> resolve(Kind kind, std::string_view key) const = 0;

  // Completes a route resolve() left unsettled, for the session of `ctx`
  // (may start a server); an error when it cannot be served after all.
  virtual boost::asio::awaitable<Settled> settle(Route route, RequestContext& /*ctx*/) {
    route.settled = true;
    co_return route;
  }

  // Handles tools/call, resources/read, resources/subscribe,
  // resources/unsubscribe, prompts/get and completion/complete along a
  // settled route of this backend. `params` is the request's params object.
  virtual boost::asio::awaitable<protocol::Outcome> call(const Route& route,
                                                         std::string_view method,
                                                         boost::json::object params,
                                                         RequestContext& ctx) = 0;

  // Whether a call along the settled `route` may answer input_required
  // (ask the client of `ctx` something, spec MRTR). Only then does the
  // engine keep a Legacy client's params as sent, to call again with the
  // answers (RequestContext::pre_filter_params); a backend that says no and
  // answers input_required all the same gets the call refused. Cheap and
  // non-blocking; yes by default (the safe answer).
  virtual bool may_ask_input(const Route& /*route*/, const RequestContext& /*ctx*/) const {
    return true;
  }

  // The x-mcp-header annotations of the tool along a settled route
  // (protocol::param_headers() of its inputSchema): what the engine checks
  // the Mcp-Param-* headers of a Modern HTTP tools/call against. Cheap and
  // non-blocking; none by default.
  virtual std::vector<protocol::ParamHeader> param_headers(const Route& /*route*/) const {
    return {};
  }

  // The tasks extension: tasks/get, tasks/update or tasks/cancel (`params`
  // as the client sent them, its taskId a string) for a task this backend
  // created for the caller of `ctx`; nullopt when it is not one of them (an
  // id it never issued, or another caller's: the client cannot tell which).
  virtual boost::asio::awaitable<std::optional<TaskReply>> task_request(
      std::string_view /*method*/, const boost::json::object& /*params*/,
      RequestContext& /*ctx*/) {
    co_return std::nullopt;
  }

  // Client-side notifications the backend may care about
  // (notifications/roots/list_changed), and session teardown.
  virtual void on_client_notification(std::string_view /*session_id*/,
                                      const boost::json::object& /*msg*/) {}
  virtual void on_session_closed(std::string_view /*session_id*/) {}
  // A Modern client's subscriptions/listen asks for updates of resources
  // this backend serves (`routes`: one per URI, resolved), under `key` until
  // on_listen_closed(key). The gateway asks its upstreams for them.
  virtual void on_listen(std::string_view /*key*/, const std::vector<Route>& /*routes*/) {}
  virtual void on_listen_closed(std::string_view /*key*/) {}

  void set_listener(BackendListener* l) { listener_ = l; }

 protected:
  BackendListener* listener_ = nullptr;
};

}  // namespace bastion::server
