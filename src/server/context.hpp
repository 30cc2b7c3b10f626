// RequestContext: everything a backend may do while serving one client
// request — report progress, log to the client, ask the client something
// (sampling, elicitation, roots) and notice cancellation.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/era.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/param_headers.hpp"
#include "protocol/principal.hpp"
#include "server/outbox.hpp"

namespace bastion::server {

class Session;

enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError, kCritical, kAlert, kEmergency };
std::optional<LogLevel> parse_log_level(std::string_view s);
std::string_view to_string(LogLevel l);

// One per in-flight client request. Not copyable; lives until the response
// is sent. Methods are safe to call from the handler's coroutine.
class RequestContext : public std::enable_shared_from_this<RequestContext> {
 public:
  // `caller`: who sent this request, with the scopes its token holds now.
  RequestContext(std::shared_ptr<Session> session,
                 std::shared_ptr<const protocol::Principal> caller, std::shared_ptr<Outbox> out,
                 boost::json::value id, std::string method, boost::json::value progress_token);
  ~RequestContext();
  RequestContext(const RequestContext&) = delete;
  RequestContext& operator=(const RequestContext&) = delete;

  // The request's own caller: its scopes decide what it sees and calls.
  const protocol::Principal& caller() const { return *caller_; }
  const std::string& session_id() const;
  // The request's era, version and client capabilities: from its own
  // `_meta` for a Modern request, from the session's initialize otherwise.
  protocol::Era era() const { return modern_ ? protocol::Era::kModern : protocol::Era::kLegacy; }
  std::string_view protocol_version() const;
  const boost::json::object& client_capabilities() const;
  // The per-request metadata of a Modern request; nullptr for Legacy.
  const protocol::RequestMeta* modern() const { return modern_.get(); }
  void set_modern(std::shared_ptr<const protocol::RequestMeta> m) { modern_ = std::move(m); }
  // The Mcp-Param-* headers of a Modern request that came over Streamable
  // HTTP (protocol::Message::param_headers), which a tools/call's arguments
  // must agree with; nullptr for any other request (stdio, Legacy).
  const protocol::ReceivedParamHeaders* param_headers() const {
    return param_headers_ ? &*param_headers_ : nullptr;
  }
  void set_param_headers(std::optional<protocol::ReceivedParamHeaders> h) {
    param_headers_ = std::move(h);
  }

  // Multi round-trip requests (Modern): the client's answers to the input
  // requests of an earlier InputRequiredResult (nullptr when it sent none),
  // and the payload the backend put in that result's requestState, opened
  // and verified by the engine (null when none came back).
  const boost::json::object* input_responses() const {
    return has_input_responses_ ? &input_responses_ : nullptr;
  }
  const boost::json::value& request_state() const { return request_state_; }
  // `filtered`: the answers passed the filters already (the engine's own
  // client_request ran run_client_answer on each); otherwise the engine runs
  // them before the call (Engine::admit_answers).
  void set_round_trip(std::optional<boost::json::object> responses, boost::json::value state,
                      bool filtered = false) {
    has_input_responses_ = responses.has_value();
    if (responses) input_responses_ = std::move(*responses);
    request_state_ = std::move(state);
    input_responses_filtered_ = filtered;
  }
  // The answers for the filters to rewrite; nullptr when there are none or
  // they passed already (and from then on).
  boost::json::object* input_responses_to_filter() {
    if (!has_input_responses_ || input_responses_filtered_) return nullptr;
    input_responses_filtered_ = true;
    return &input_responses_;
  }
  // A Legacy client's tools/call, prompts/get or resources/read as it sent
  // them, before the filters: what the engine calls again with once the
  // client answered an input_required (Engine::fulfil_for_legacy). Copied
  // only once the engine asked for it (want_pre_filter_params) and the route
  // is known to lead to a backend that may ask (Backend::may_ask_input): on
  // every other call the params are moved on uncopied. nullptr when not kept.
  void want_pre_filter_params() { want_pre_filter_ = true; }
  bool wants_pre_filter_params() const { return want_pre_filter_ && !pre_filter_params_; }
  void keep_pre_filter_params(const boost::json::object& params) { pre_filter_params_ = params; }
  const boost::json::object* pre_filter_params() const {
    return pre_filter_params_ ? &*pre_filter_params_ : nullptr;
  }
  const boost::json::value& request_id() const { return id_; }
  const std::string& method() const { return method_; }
  const boost::json::value& progress_token() const { return progress_token_; }
  Session& session() { return *session_; }

  // The server and target (tool, prompt, URI) serving this request, set by
  // the engine once it routed it; empty for requests it did not route. The
  // messages relayed during the call (notifications, server-to-client
  // requests and their answers) are filtered as the call's own.
  void set_call_target(std::string server, std::string target);
  const std::string& call_server() const { return call_server_; }
  const std::string& call_target() const { return call_target_; }

  // notifications/progress for this request; no-op without a progressToken.
  void progress(double progress, std::optional<double> total = {}, std::string_view message = {});
  // notifications/message, sent only when `level` passes the session's
  // level (Legacy) or the request's own logLevel (Modern: none, no message).
  void log(LogLevel level, std::string_view logger, boost::json::value data);
  // Whether a notifications/message at `level` may reach this request's
  // client: the request's own logLevel (Modern: none asked, none sent) or
  // the session's level (Legacy). A level Bastion does not know (nullopt,
  // relayed from an upstream) passes whenever some level is wanted.
  bool wants_log(std::optional<LogLevel> level) const;
  // Any notification related to this request (the gateway relays upstream
  // ones verbatim).
  void notify(boost::json::object notification);

  // A server-to-client request on this request's stream. Resolves to the
  // client's result or error, kRequestTimeout after `timeout`, or
  // kRequestCancelled when this request is cancelled meanwhile. Modern
  // requests have no such channel (spec MRTR): an error at once, and the
  // backend answers with an InputRequiredResult instead.
  boost::asio::awaitable<protocol::Outcome> client_request(std::string_view method,
                                                           boost::json::object params,
                                                           std::chrono::milliseconds timeout);
  boost::asio::awaitable<protocol::Outcome> client_request(std::string_view method,
                                                           boost::json::object params);

  // Withdraws the server-to-client requests of this request that are still
  // unanswered: the client gets notifications/cancelled for each on this
  // request's stream, and their askers see kRequestCancelled. The session
  // calls it before the request's last message, so the notices always come
  // before the response and never land on a closed stream.
  void withdraw_client_requests(std::string_view reason);

  // Set when the client sent notifications/cancelled for this request.
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  std::string cancel_reason() const;

  // Internal: used by the session.
  void mark_cancelled(std::string reason);
  boost::asio::cancellation_signal& cancel_signal() { return cancel_signal_; }
  std::shared_ptr<Outbox> outbox() const { return out_; }

 private:
  std::shared_ptr<Session> session_;
  std::shared_ptr<const protocol::Principal> caller_;
  std::shared_ptr<Outbox> out_;
  std::shared_ptr<const protocol::RequestMeta> modern_;
  std::optional<protocol::ReceivedParamHeaders> param_headers_;
  bool has_input_responses_ = false;
  bool input_responses_filtered_ = false;
  boost::json::object input_responses_;
  boost::json::value request_state_;
  bool want_pre_filter_ = false;
  std::optional<boost::json::object> pre_filter_params_;
  boost::json::value id_;
  std::string method_;
  boost::json::value progress_token_;
  std::string call_server_;
  std::string call_target_;
  std::atomic<bool> cancelled_{false};
  std::string cancel_reason_;
  // Ids of this request's server-to-client requests sent and not answered.
  std::mutex open_mu_;
  std::vector<boost::json::value> open_client_requests_;
  // Removes `id` from the open list; false when it was withdrawn already.
  bool close_client_request(const boost::json::value& id);
  boost::asio::cancellation_signal cancel_signal_;
};

}  // namespace bastion::server
