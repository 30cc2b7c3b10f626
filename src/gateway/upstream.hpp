// Upstream: one configured MCP server behind the gateway — how to start it
// (runtime), its lifecycle (lazy or eager start, initialize with a timeout,
// health pings, restart with backoff after a crash, idle shutdown), and its
// cached catalogue.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gateway/catalogue.hpp"
#include "gateway/channel_factory.hpp"
#include "gateway/era_wire.hpp"
#include "gateway/input_sink.hpp"
#include "gateway/listen.hpp"
#include "gateway/mcp_client.hpp"
#include "gateway/pin_store.hpp"
#include "gateway/relay.hpp"
#include "sandbox/launch.hpp"
#include "server/backend.hpp"

namespace bastion::gateway {

// How a Legacy server's tool is offered to Modern clients as a task of
// Bastion's own (`tasks:`, legacy_tasks.hpp).
enum class TaskMode {
  kOptional,  // a task when the client declared io.modelcontextprotocol/tasks, else a plain call
  kRequired,  // a task; -32021 for a client that did not declare the extension
};

struct UpstreamOptions {
  std::string name;                            // unique, [A-Za-z0-9_-]{1,64}
  std::string prefix;                          // exposed-name prefix; "" exposes names as they are
  std::vector<std::string> command;            // stdio servers: argv
  std::string url;                             // remote servers: http://host:port/mcp
  bool legacy_sse = false;                     // url speaks the 2024-11-05 HTTP+SSE transport
  std::map<std::string, std::string> headers;  // sent to a remote server (e.g. Authorization)
  std::map<std::string, std::string> env;      // added to a minimal environment
  // Environment variables filled from the encrypted secret store at start:
  // ENV_NAME -> secret name. Values never appear in the configuration or logs.
  std::map<std::string, std::string> secret_env;
  std::string cwd;
  sandbox::SandboxOptions sandbox;  // runtime (bwrap by default), paths, network, limits, user
  bool eager = false;               // start at boot instead of on first use
  bool per_session = false;         // one instance per client session (else shared)
  std::size_t max_instances = 16;   // per-session mode: instances of this server at once
  std::chrono::milliseconds init_timeout{30000};
  std::chrono::milliseconds call_timeout{120000};
  std::chrono::milliseconds ping_interval{30000};        // 0: no health pings
  std::chrono::milliseconds idle_shutdown{0};            // 0: keep running
  std::chrono::milliseconds restart_backoff{500};        // doubles after each crash...
  std::chrono::milliseconds restart_backoff_max{30000};  // ...up to this
  std::size_t max_line_bytes = 16 * 1024 * 1024;
  CatalogueLimits catalogue;  // description and schema size caps
  RelayOptions relay;         // which server-to-client requests reach clients
  // What a Legacy session declares in initialize, when not all that `relay`
  // lets through: set on the gateway's capability-set instances
  // (gateway.hpp), which serve Modern requests declaring just this.
  std::optional<RelayOptions> declare;
  // Which era Bastion speaks to the server: probed (server/discover, then
  // initialize), or forced.
  UpstreamEra era = UpstreamEra::kAuto;
  // Tools (as the server names them) whose calls by a Modern client reach a
  // Legacy instance as a task of Bastion's (legacy_tasks.hpp). A Modern
  // instance's own tasks are relayed instead (task_relay.hpp).
  std::map<std::string, TaskMode, std::less<>> tasks;
  // A changed tool, prompt or resource template definition: withheld until
  // approved (enforce), served with a warning (warn), or not checked (off).
  PinMode pinning = PinMode::kEnforce;
  // Definitions the linter flags (lint.hpp): reported (warn), withheld until
  // an operator approves them (block), or not linted (off).
  LintMode lint = LintMode::kWarn;
  std::string
      fingerprint;  // the server's configuration as read; a reload restarts it when this changes
};

enum class UpstreamState { kStopped, kStarting, kReady, kBackoff };
// One failure of a server (a start that failed, an exit), for operators.
struct UpstreamError {
  std::int64_t at = 0;  // Unix seconds
  std::string what;
};
std::string_view to_string(UpstreamState s);

// Thread-safe.
class Upstream : public std::enable_shared_from_this<Upstream> {
 public:
  struct Events {
    // Looks up a secret by name (nullopt: not set).
    std::function<std::optional<std::string>(const std::string&)> resolve_secret;
    std::function<void(server::Kind)> catalogue_changed;
    std::function<void(std::string_view uri)> resource_updated;
    // Something of the server's catalogue refused or changed (catalogue.hpp).
    std::function<void(const CatalogueNote&)> catalogue_note;
    // A notification tied to no client call (a log line outside any call):
    // the gateway sends it to the sessions allowed to use this server.
    std::function<void(boost::json::object notification)> notify;
    // Which admitted entries of a kind clients see (pinning and lint): one
    // decision per entry. Empty: all of them. Called at list time only;
    // `record` is false when re-deciding on an unchanged list (revet()).
    std::function<std::vector<PinDecision>(server::Kind, const std::vector<CatalogueEntry>&,
                                           bool record)>
        vet;
  };

  // `factory` opens a channel to a fresh instance at every start (empty: the
  // real one, default_channel_factory(opts)).
  Upstream(boost::asio::any_io_executor ex, UpstreamOptions opts, Events events,
           ChannelFactory factory = {});
  ~Upstream();

  const UpstreamOptions& options() const { return opts_; }
  const std::string& name() const { return opts_.name; }
  UpstreamState state() const;
  std::string last_error() const;
  std::uint64_t restarts() const;
  // The last failures, oldest first (at most 10).
  std::vector<UpstreamError> errors() const;

  // Starts the server if it is not running (waiting for a start already in
  // progress); nullptr with last_error() when it could not start.
  boost::asio::awaitable<std::shared_ptr<McpClient>> ensure_started();
  void stop(std::string reason);
  // After stop(): lets the next ensure_started() start it again, with the
  // restart backoff reset (an operator's restart).
  void resume();

  // The admitted catalogue (empty while down): entries as clients see them.
  std::vector<CatalogueEntry> catalogue(server::Kind k) const;
  // The name (or URI) at the server behind an exposed one, if listed.
  std::optional<std::string> original_of(server::Kind k, std::string_view exposed) const;
  // The x-mcp-header annotations of a tool: by the name clients use (what
  // they see), or by its name at the server (all it lists).
  std::vector<protocol::ParamHeader> param_headers(std::string_view exposed) const;
  std::vector<protocol::ParamHeader> param_headers_at_server(std::string_view original) const;
  // Why an entry the server lists is withheld from clients (pinning, lint);
  // nullopt when it is not.
  std::optional<std::string> withheld_reason(server::Kind k, std::string_view exposed) const;
  // Decides again which entries clients see (the pins changed); clients are
  // told when a list changed.
  void revet();
  boost::json::object capabilities() const;

  // Relays one request from a client session; rewrites progress tokens and
  // routes the upstream's notifications and requests back to `ctx` (see
  // attribute()), or, when `sink` is set, its requests to the sink and its
  // notifications to the sink's current request. The request's `_meta`
  // follows the server's era (era_wire.hpp).
  boost::asio::awaitable<protocol::Outcome> call(std::string_view method,
                                                 boost::json::object params,
                                                 server::RequestContext& ctx,
                                                 std::shared_ptr<InputSink> sink = nullptr);
  // Whether a request of `ctx` goes to the running instance in the Modern
  // era: always for a Modern-only server, for a Modern client's request to
  // a dual-era one (known once started).
  bool modern_for(const server::RequestContext& ctx) const;
  // Whether the running instance speaks Legacy to `ctx`'s requests: false
  // when it is not running (its era is known once it starts).
  bool legacy_for(const server::RequestContext& ctx) const;
  // Whether a call may stay in flight long with nobody moving it on: one
  // that waits for a Modern client's answer to an input request
  // (InputSink::waiting), or one Bastion stopped waiting for that the server
  // may still run. Over stdio, a request the server sends could be that
  // call's or one started beside it.
  bool has_parked_call() const;
  // Calls Bastion stopped waiting for that still count (abandoned_ below);
  // never more than kMaxAbandoned.
  std::size_t abandoned_calls() const;
  static constexpr std::size_t kMaxAbandoned = 4096;
  // Sends a parameterless notification to the server if it runs
  // (notifications/roots/list_changed).
  void notify_server(std::string_view method);

  // Resource updates of `uri` (as the server names it) wanted by `who` (a
  // Legacy session's resources/subscribe: "session:<id>"; a Modern client's
  // listen to Bastion: "listen:<n>"). A Modern-only server hears the union in
  // the subscriptions/listen Bastion holds open to it, reopened when the
  // union changes; its updates for other URIs are dropped. An error when a
  // bound (WatchLimits) is reached.
  std::optional<protocol::RpcError> watch(const std::string& who, const std::string& uri);
  void unwatch(const std::string& who, const std::string& uri);
  void forget(const std::string& who);
  // What clients watch on `old` (the instance a reload replaces) is watched here.
  void adopt_watchers(Upstream& old);
  // True while the running instance is a Modern-only server.
  bool modern_only() const;
  // Whether the running server announces resources.subscribe.
  bool supports_subscribe() const;
  // The listens Bastion holds open to the running instance (acknowledged or not).
  std::size_t open_listens() const;

 private:
  struct Attribution;
  struct Flight {
    std::shared_ptr<server::RequestContext> ctx;
    boost::json::value client_token;  // the client's progressToken, if any
    std::int64_t upstream_id = 0;
    // A Modern client's call (era_bridge.hpp), never owned here: the call's
    // coroutine holds it, and it may hold this instance (the one its call
    // runs on), so owning it would be a cycle a call destroyed unresumed (at
    // the end of `bastion serve`) never breaks.
    std::weak_ptr<InputSink> sink;
    bool bridged = false;  // sink was set
    // Where the call's notifications go now.
    std::shared_ptr<server::RequestContext> target() const;
    // The call the server's messages of this flight go to (kNone once its
    // Modern client's call is gone).
    Attribution attribution() const;
  };

  // One attempt of call(): the request on the current instance.
  boost::asio::awaitable<protocol::Outcome> call_once(std::string_view method,
                                                      boost::json::object params,
                                                      server::RequestContext& ctx,
                                                      std::shared_ptr<InputSink> sink);
  boost::asio::awaitable<std::shared_ptr<McpClient>> start();
  boost::asio::awaitable<void> refresh(server::Kind k);
  boost::asio::awaitable<void> refresh_all();
  // Applies Events::vet to admitted_[k] into catalogue_[k] and withheld_[k];
  // true when what clients see changed.
  bool vet(server::Kind k, bool record = true);
  boost::asio::awaitable<void> health_loop(std::shared_ptr<McpClient> c);
  void on_notification(boost::json::object msg, std::optional<std::int64_t> related);
  boost::asio::awaitable<protocol::Outcome> on_request(std::string method,
                                                       boost::json::object params,
                                                       std::optional<std::int64_t> related);
  void on_closed(const std::shared_ptr<McpClient>& c, std::string reason);
  // Which client call a message of the server belongs to. `related`: the id
  // of our request whose response stream carried it (exact). Without one,
  // the message is a call's only when every call in flight is one session's;
  // with calls of several sessions in flight it cannot be told (kAmbiguous),
  // and with none it belongs to no call (kNone).
  struct Attribution {
    enum Kind { kCall, kNone, kAmbiguous } kind;
    std::shared_ptr<server::RequestContext> ctx;  // kCall
    std::shared_ptr<InputSink> sink;              // kCall, a Modern client's call
    std::size_t sessions;                         // sessions with calls in flight
  };
  Attribution attribute(std::optional<std::int64_t> related) const;
  void unattributed(std::string_view what, std::size_t sessions);
  // subscriptions/listen toward a Modern-only server (listen.hpp): one
  // coroutine per listen; a newer generation, once acknowledged, cancels the
  // older ones (make before break), and a listen that ends is reopened
  // after a backoff that doubles unless it had lived a while.
  void open_listen(const std::shared_ptr<McpClient>& c);
  boost::asio::awaitable<void> run_listen(std::shared_ptr<McpClient> c, std::uint64_t generation);
  void watchers_changed();
  // Handles what the judge says of a Modern server's notification; false
  // when it is no subscription notification.
  bool on_listen_notification(const boost::json::object& msg, std::optional<std::int64_t> related);
  // One catalogue refresh per kind runs or waits at a time: a flood of
  // list_changed costs one listing per listing time, not one per message.
  void queue_refresh(server::Kind k);

  boost::asio::strand<boost::asio::any_io_executor> strand_;
  UpstreamOptions opts_;
  Events events_;
  ChannelFactory factory_;

  mutable std::mutex mu_;
  UpstreamState state_ = UpstreamState::kStopped;
  std::shared_ptr<McpClient> client_;
  std::function<void()> terminate_;  // ends what runs behind client_'s channel
  std::string last_error_;
  std::vector<UpstreamError> errors_;        // bounded, see errors()
  void note_error(const std::string& what);  // under mu_
  std::uint64_t restarts_ = 0;
  std::chrono::milliseconds backoff_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::steady_clock::time_point last_used_ = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<server::Mailbox>> start_waiters_;
  std::map<server::Kind, std::vector<CatalogueEntry>> catalogue_;  // what clients see
  std::map<server::Kind, std::vector<CatalogueEntry>> admitted_;   // all the server lists
  std::map<server::Kind, std::map<std::string, std::string, std::less<>>>
      withheld_;       // exposed -> why
  std::mutex vet_mu_;  // one vet at a time (it reads the pins and may write them)
  std::map<std::string, Flight> flights_;  // our progress token -> flight
  // Calls Bastion stopped waiting for (timed out, or cancelled by their
  // client) that the server may still be running, and so may still ask or
  // log about: their sessions count in attribute() until the server answers
  // them late, the instance ends, or kAbandonedLinger passes. Without this a
  // stdio server's request for a call that timed out reached whichever other
  // session had a call in flight. Upstream id (of client_) -> session id.
  struct Abandoned {
    std::string session;
    std::chrono::steady_clock::time_point until;
  };
  std::map<std::int64_t, Abandoned> abandoned_;
  // Past kMaxAbandoned the oldest entry goes (a flood of timed-out calls
  // must not grow the map without bound). Its session is then unknown, so
  // until it would have lapsed every message that needs attribution is
  // ambiguous: refused or not relayed, never guessed. Its late answer is
  // dropped like any reply to an id nobody waits for (McpClient).
  std::chrono::steady_clock::time_point abandoned_overflow_until_{};
  void on_late_response(const std::shared_ptr<McpClient>& c, std::int64_t id);
  std::uint64_t next_token_ = 1;
  bool stopping_ = false;
  bool warned_unattributed_ = false;  // the first such message is a warning, the rest debug
  Watchers watchers_;
  OpenListens listens_;
  std::uint64_t listen_gen_ = 0;
  bool reopen_scheduled_ = false;
  std::chrono::milliseconds listen_backoff_;
  std::set<server::Kind> refresh_running_, refresh_again_;
  // Resource updates relayed in the current second (a flood is cut here).
  std::chrono::steady_clock::time_point updates_window_{};
  std::size_t updates_in_window_ = 0;
  std::uint64_t dropped_listen_ = 0;  // notifications refused, logged at powers of two
};

}  // namespace bastion::gateway
