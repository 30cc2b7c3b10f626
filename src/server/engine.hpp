// The MCP session engine: owns the backends, the filter chain and the live
// sessions; dispatches every client request to the right backend. Transport
// independent: Streamable HTTP and stdio both drive it through Session.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/era.hpp"
#include "protocol/expected.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/principal.hpp"
#include "protocol/sealed_state.hpp"
#include "protocol/version.hpp"
#include "server/backend.hpp"
#include "server/backlog.hpp"
#include "server/filter.hpp"
#include "server/subscriptions.hpp"
#include "server/tasks.hpp"

namespace bastion::server {

class Session;

struct EngineOptions {
  std::string server_name = "bastion";
  std::string server_title = "Bastion MCP gateway";
  std::string server_version{protocol::bastion_version()};
  std::string instructions;                                 // empty: omitted
  std::size_t page_size = 100;                              // items per list page
  std::chrono::milliseconds client_request_timeout{60000};  // sampling/elicitation/roots
  std::chrono::seconds session_idle_timeout{1800};          // HTTP sessions without traffic
  std::size_t max_sessions = 10000;
  // Live sessions of one caller (the issuer, client and subject of its
  // token), so one user cannot take every place of max_sessions. Callers
  // without a token (auth off) cannot be told apart: max_sessions alone.
  std::size_t max_sessions_per_caller = 100;
  // What a session holds for its standalone stream (the HTTP GET) while it
  // has none open: a client that never opens one must not pin an upstream's
  // flood, once per session. The oldest go first, counted in
  // bastion_notifications_dropped_total{reason="no_stream"}.
  BacklogLimits standalone_backlog;
  // Modern (2026-07-28): the ttlMs hint on cacheable results (0: revalidate
  // every time; lists also change with list_changed notifications).
  std::int64_t cache_ttl_ms = 0;
  // Open subscriptions/listen requests, in total and per caller.
  SubscriptionLimits subscriptions;
  // A Legacy client calling a backend that answers input_required: how many
  // rounds of server-to-client requests Bastion runs on its behalf.
  std::size_t max_input_rounds = 8;
  // When set, session ids are drawn until this accepts one (a replica keeps
  // only ids the ingress will route back to it; see chash.hpp).
  std::function<bool(std::string_view session_id)> accept_session_id;
};

// Decides what a caller may see and use, given the server that really owns
// the item and its name there (Route::server, Route::name). Null: everything.
using Authorizer = std::function<bool(const protocol::Principal&, std::string_view server,
                                      Kind kind, std::string_view name)>;
// Decides whether a caller may hear from a server at all: messages of that
// server tied to no request of theirs (see Audience). Null: everyone.
using ServerAuthorizer = std::function<bool(const protocol::Principal&, std::string_view server)>;

// Thread-safe.
class Engine : public BackendListener {
 public:
  explicit Engine(EngineOptions opts);
  ~Engine() override;

  const EngineOptions& options() const { return opts_; }

  // Setup, before serving. Local backends are consulted before the others
  // (the gateway), whatever the order they are added in.
  void add_backend(std::shared_ptr<Backend> b);
  FilterChain& filters() { return filters_; }
  void set_authorizer(Authorizer a) { authorizer_ = std::move(a); }
  void set_server_authorizer(ServerAuthorizer a) { server_authorizer_ = std::move(a); }

  // Seals the requestState of Modern InputRequiredResults. Default: a
  // random key (states do not survive a restart nor reach another replica);
  // the app sets the data directory's key.
  void set_state_sealer(std::shared_ptr<const protocol::StateSealer> s) { sealer_ = std::move(s); }
  const protocol::StateSealer& state_sealer() const { return *sealer_; }

  // Sessions.
  enum class SessionLimit { kTotal, kPerCaller };  // which bound refused a new session
  struct SessionRefused {
    SessionLimit limit;
    std::string reason;
  };
  protocol::Expected<std::shared_ptr<Session>, SessionRefused> open_session(
      protocol::Principal principal);
  // open_session(), nullptr when refused.
  std::shared_ptr<Session> create_session(protocol::Principal principal);
  // A session for one stateless (Modern) HTTP request: never listed, found
  // or reused, and it hears no unsolicited notifications. End it with
  // end_ephemeral_session() once the request is over.
  std::shared_ptr<Session> create_ephemeral_session(protocol::Principal principal);
  void end_ephemeral_session(const std::shared_ptr<Session>& s);
  std::size_t subscription_count() const { return subscriptions_.size(); }
  std::shared_ptr<Session> find_session(std::string_view id);
  // Closes and forgets a session; false when unknown.
  bool close_session(std::string_view id);
  std::size_t session_count() const;
  // After the view of callers changed (SIGHUP: a client removed, its scopes
  // narrowed): `admit` gives a caller as it stands now, nullopt for one no
  // longer admitted. Its sessions close; the sessions of a narrowed caller
  // hear what they hear under the narrowed scopes from now on (not only
  // after their next request); the listens of both end (the client listens
  // again with the token it holds now).
  using Readmit = std::function<std::optional<protocol::Principal>(const protocol::Principal&)>;
  struct Rechecked {
    std::size_t closed = 0, narrowed = 0, listens_ended = 0;
  };
  Rechecked recheck_callers(const Readmit& admit);
  // What live sessions hold for standalone streams they have not opened
  // (approximate bytes; bounded per session by options().standalone_backlog).
  std::size_t backlog_bytes() const;
  // Closes sessions idle longer than the configured timeout; returns how many.
  std::size_t expire_idle(std::chrono::steady_clock::time_point now);
  void close_all();
  // Called with the id of every session that closes (DELETE, idle expiry,
  // end of stdin, shutdown), after it is closed, on the closing thread:
  // transports drop their per-session state here. The id unregisters it.
  using SessionClosed = std::function<void(const std::string& session_id)>;
  std::uint64_t on_session_closed(SessionClosed f);
  void remove_session_listener(std::uint64_t id);

  // Request dispatch (called by Session).
  boost::asio::awaitable<protocol::Outcome> dispatch(Session& s, RequestContext& ctx,
                                                     const std::string& method,
                                                     boost::json::object params);
  void on_client_notification(Session& s, const std::string& method,
                              const boost::json::object& msg);

  // The route to a tool/prompt name or resource URI: the one lookup a call
  // makes (the HTTP layer's scope check uses it too); nullopt when nobody
  // serves it. Cheap, non-blocking.
  std::optional<Route> resolve(Kind kind, std::string_view key) const;

  // The merged capabilities object for InitializeResult and DiscoverResult.
  boost::json::object capabilities() const;
  // The DiscoverResult (before the Modern decoration).
  boost::json::object discover() const;

  // BackendListener.
  void list_changed(Kind kind) override;
  void list_changed(Kind kind, const Audience& to) override;
  void resource_updated(const Audience& to, std::string_view uri) override;
  void notify(const Audience& to, boost::json::object notification) override;

 private:
  // Everything both eras share: lists, calls, reads, prompts, completion.
  boost::asio::awaitable<protocol::Outcome> dispatch_common(Session& s, RequestContext& ctx,
                                                            const std::string& method,
                                                            boost::json::object params);
  // A Modern request: discover, listen, multi round-trip state, decoration.
  boost::asio::awaitable<protocol::Outcome> dispatch_modern(Session& s, RequestContext& ctx,
                                                            const std::string& method,
                                                            boost::json::object params);
  boost::asio::awaitable<protocol::Outcome> round_trip(Session& s, RequestContext& ctx,
                                                       const std::string& method,
                                                       boost::json::object params);
  // A Legacy request whose backend answered input_required: Bastion asks
  // the client itself (sampling, elicitation, roots) and retries with the
  // request's params as the client sent them (ctx.pre_filter_params(), kept
  // by route() when the backend said it may ask; refused when it did not).
  boost::asio::awaitable<protocol::Outcome> fulfil_for_legacy(Session& s, RequestContext& ctx,
                                                              const std::string& method,
                                                              protocol::Outcome out);
  // tasks/get, tasks/update, tasks/cancel: to the backend that created the task.
  boost::asio::awaitable<protocol::Outcome> task_request(RequestContext& ctx,
                                                         const std::string& method,
                                                         boost::json::object params);
  boost::asio::awaitable<protocol::Outcome> listen(RequestContext& ctx,
                                                   const boost::json::object& params);
  boost::asio::awaitable<protocol::Outcome> list(Kind kind, RequestContext& ctx,
                                                 boost::json::object params);
  // resources/subscribe: route(), and the session subscribed when it succeeds.
  boost::asio::awaitable<protocol::Outcome> subscribe(Session& s, Kind kind, std::string uri,
                                                      const std::string& method,
                                                      boost::json::object params,
                                                      RequestContext& ctx);
  boost::asio::awaitable<protocol::Outcome> route(Kind kind, std::string key,
                                                  const std::string& method,
                                                  boost::json::object params, RequestContext& ctx);
  // The rare part of route(): a route unknown or hidden from the caller
  // (`seen` false), refused, or not settled (`r` completed by its backend).
  // The call's answer when it ends there.
  boost::asio::awaitable<std::optional<protocol::Outcome>> prepare_route(
      Kind kind, const std::string& key, const std::string& method, std::optional<Route>& r,
      bool seen, RequestContext& ctx);
  // The backend's call on a resolved route, through the filters when they
  // apply to `method`.
  boost::asio::awaitable<protocol::Outcome> call(const Route& r, const std::string& method,
                                                 boost::json::object params, RequestContext& ctx);
  // A call through the filter chain: request filters, the backend, response
  // filters, then what they deferred (the audit record) before the answer.
  boost::asio::awaitable<protocol::Outcome> filtered_call(const Route& r, const std::string& method,
                                                          boost::json::object params,
                                                          RequestContext& ctx);
  // A Modern client's answers to the previous round's input requests (its
  // inputResponses) on their way to the server: each passes the filters as a
  // Legacy client's answer does (run_client_answer). A refusal fails the call.
  protocol::Outcome admit_answers(const Route& r, RequestContext& ctx) const;
  protocol::Outcome admit_call(const Route& r, const std::string& method,
                               boost::json::object& params, const RequestContext& ctx,
                               CallContext& cc) const;
  std::optional<protocol::RpcError> header_mismatch(const Route& r, const std::string& method,
                                                    const boost::json::object& params,
                                                    const RequestContext& ctx) const;
  bool visible(const protocol::Principal& p, std::string_view server, Kind k,
               std::string_view name) const;
  // The sessions of `to` (allowed to hear from its server).
  std::vector<std::shared_ptr<Session>> audience(const Audience& to) const;
  std::vector<std::shared_ptr<Session>> snapshot_sessions() const;
  // Logs a name two backends list (once per name).
  void report_shadowed(Kind kind, std::string_view key, const Listed& first,
                       const Listed& dropped) const;

  EngineOptions opts_;
  std::shared_ptr<const protocol::StateSealer> sealer_;
  Subscriptions subscriptions_;
  std::vector<std::shared_ptr<Backend>> backends_;
  FilterChain filters_;
  Authorizer authorizer_;
  ServerAuthorizer server_authorizer_;
  mutable std::mutex reported_mu_;
  mutable std::set<std::string> reported_;
  mutable std::shared_mutex mu_;
  // Found by a string_view (a request's Mcp-Session-Id) with no string
  // made for the look-up.
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const noexcept {
      return std::hash<std::string_view>{}(id);
    }
  };
  std::unordered_map<std::string, std::shared_ptr<Session>, IdHash, std::equal_to<>> sessions_;
  // Live sessions per authenticated caller (caller_key), under mu_.
  std::unordered_map<std::string, std::size_t> sessions_per_caller_;
  std::uint64_t next_listener_ = 1;
  std::map<std::uint64_t, SessionClosed> closed_listeners_;  // under mu_
};

// Opaque cursors for list pagination.
std::string encode_cursor(std::size_t offset);
std::optional<std::size_t> decode_cursor(std::string_view cursor);

}  // namespace bastion::server
