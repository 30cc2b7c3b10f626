// The filter chain every tools/call, resources/read and prompts/get passes
// through (PII policy, audit, scope checks), and every message relayed
// outside them (notifications, server-to-client requests and the client's
// answers). Requests and answers run front to back, responses and outbound
// messages back to front; the first error stops the chain. An empty chain
// costs one branch.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/jsonrpc.hpp"
#include "protocol/principal.hpp"
#include "server/route.hpp"

namespace bastion::server {

namespace json = boost::json;

// The strongest thing a policy did to a call's data, weakest first.
enum class DataAction { kAllow, kMask, kEncrypt, kReject };

// What the filters found and did during one call; the audit filter writes
// it out. Counts and decisions only, never the values themselves.
struct CallNotes {
  std::int64_t parameter_count = 0;  // top-level arguments
  bool contains_pii = false;
  std::map<std::string, std::int64_t, std::less<>> pii;  // type -> findings, both directions
  DataAction pii_action = DataAction::kAllow;            // meaningful when contains_pii
  std::int64_t secrets_redacted = 0;
  // Set by the engine when it found no target the caller may see: "unknown"
  // (none) or "denied" (hidden by the caller's scopes); empty otherwise.
  std::string_view unresolved;
  // The audit log could not record the call: it was refused or its result
  // withheld (the error says so).
  bool audit_unrecorded = false;
};

struct CallContext;

// Work a filter leaves for after the chain that the call's answer must wait
// for: the audit filter's record, queued for the log's writer thread so that
// one write carries the records of many calls. The engine co_awaits run()
// after the chain: the call is suspended, its I/O thread free, and it is
// answered only once run() is done.
class Deferred {
 public:
  virtual ~Deferred() = default;
  // Does the work. An error: the call is answered with it instead of its
  // result (the filters' on_error hears of it); nullopt: answer as planned.
  virtual boost::asio::awaitable<std::optional<protocol::RpcError>> run(CallContext& ctx) = 0;
};

// What a filter knows about the call it sees. Lives for one request.
struct CallContext {
  const protocol::Principal& caller;
  std::string_view session_id;
  std::string_view request_id;  // JSON-RPC id as text
  std::string_view method;      // "tools/call", "resources/read", "prompts/get"
  std::string_view server;      // = route->server: who serves it (upstream or backend name)
  std::string_view target;      // = route->name: its tool/prompt name or URI there
  // The call's route as the engine resolved it (null only in tests that
  // build a context by hand).
  const Route* route = nullptr;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  CallNotes notes;
  // Set by the engine where it awaits `deferred` before answering; a filter
  // may defer work only then (elsewhere it does it at once).
  bool can_defer = false;
  // At most one: a filter that finds it taken does its work at once.
  std::unique_ptr<Deferred> deferred;
};

// What a filter knows about a message relayed outside a call's request and
// response: a notification or server-to-client request on its way to the
// client, or the client's answer to such a request on its way back.
struct MessageContext {
  std::string_view session_id;
  std::string_view method;  // the message's method; for an answer, the request's
  // The server it comes from (or whose request is answered) and the target of
  // the call it belongs to; empty when it belongs to no call.
  std::string_view server;
  std::string_view target;
};

// A filter's answer: continue (no error) or stop with this JSON-RPC error.
struct Verdict {
  std::optional<protocol::RpcError> error;
  // From on_response: the filter affirms it left the result exactly as it
  // found it (it only read it). Unset, the result counts as changed and is
  // rebuilt for the client; set by every filter, the upstream's own text of
  // it is relayed (protocol::Outcome::raw_result). Fail-safe: a filter that
  // says nothing costs the fast path, never a change that goes unsent.
  bool result_unchanged = false;
  bool ok() const { return !error; }
  static Verdict pass() { return {}; }
  static Verdict unchanged() {
    Verdict v;
    v.result_unchanged = true;
    return v;
  }
  static Verdict reject(protocol::RpcError e) { return {std::move(e)}; }
};

// One stage of the chain. Implementations hold immutable config parsed once
// and must be thread-safe: the same filter runs for many sessions at once.
class Filter {
 public:
  virtual ~Filter() = default;
  virtual std::string_view name() const = 0;
  // `params` is the request's params object (arguments live inside it).
  virtual Verdict on_request(json::object& params, CallContext& ctx) = 0;
  // `result` is the response's result object. Return Verdict::unchanged()
  // when it was left as it was (see Verdict::result_unchanged).
  virtual Verdict on_response(json::object& /*result*/, CallContext& /*ctx*/) {
    return Verdict::unchanged();
  }
  // The call failed (in the backend or in an earlier filter); filters may
  // record it or rewrite its text (redaction), not turn it into a success.
  virtual void on_error(protocol::RpcError& /*error*/, CallContext& /*ctx*/) {}
  // A message sent to the client outside a response: a notification
  // (relayed logging, progress) or a server-to-client request (sampling,
  // elicitation, roots). Filters may rewrite it (redaction) or refuse it: a
  // refused notification is not sent, a refused request is not sent and its
  // sender gets the error as the answer.
  virtual Verdict on_outbound(json::object& /*message*/, const MessageContext& /*ctx*/) {
    return {};
  }
  // The client's answer (the whole JSON-RPC response: `result` or `error`)
  // to a server-to-client request, before it goes back to the server that
  // asked. Filters may rewrite it or refuse it: the server then gets the
  // error instead of the answer.
  virtual Verdict on_client_answer(json::object& /*answer*/, const MessageContext& /*ctx*/) {
    return {};
  }
};

class FilterChain {
 public:
  void add(std::shared_ptr<Filter> f) { filters_.push_back(std::move(f)); }
  bool empty() const { return filters_.empty(); }
  const std::vector<std::shared_ptr<Filter>>& filters() const { return filters_; }

  Verdict run_request(json::object& params, CallContext& ctx) const {
    for (const auto& f : filters_) {
      Verdict v = f->on_request(params, ctx);
      if (!v.ok()) return v;
    }
    return {};
  }
  // result_unchanged when every filter left the result as it was.
  Verdict run_response(json::object& result, CallContext& ctx) const {
    bool unchanged = true;
    for (auto it = filters_.rbegin(); it != filters_.rend(); ++it) {
      Verdict v = (*it)->on_response(result, ctx);
      if (!v.ok()) return v;
      unchanged = unchanged && v.result_unchanged;
    }
    return unchanged ? Verdict::unchanged() : Verdict::pass();
  }
  void run_error(protocol::RpcError& e, CallContext& ctx) const {
    for (auto it = filters_.rbegin(); it != filters_.rend(); ++it) (*it)->on_error(e, ctx);
  }
  // Toward the client: back to front, like responses.
  Verdict run_outbound(json::object& message, const MessageContext& ctx) const {
    for (auto it = filters_.rbegin(); it != filters_.rend(); ++it) {
      Verdict v = (*it)->on_outbound(message, ctx);
      if (!v.ok()) return v;
    }
    return {};
  }
  // Toward the server: front to back, like requests.
  Verdict run_client_answer(json::object& answer, const MessageContext& ctx) const {
    for (const auto& f : filters_) {
      Verdict v = f->on_client_answer(answer, ctx);
      if (!v.ok()) return v;
    }
    return {};
  }

 private:
  std::vector<std::shared_ptr<Filter>> filters_;
};

}  // namespace bastion::server
