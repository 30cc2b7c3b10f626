// GatewayBackend: every upstream server behind one Backend. Merges their
// catalogues under stable exposed names (catalogue.hpp), routes each request
// to its owner, and keeps the session alive when one upstream is broken: its
// tools drop out and return.
//
// Namespaces cannot be bypassed: a tool or prompt name belongs to the server
// whose prefix it starts with ("<prefix>__"), and only the one unprefixed
// server (if any) owns names under no prefix — a name it lists inside another
// server's namespace is left out. A resource URI belongs to the one server
// that lists it or whose template matches it; a URI two servers claim is
// neither listed nor routed (the read is refused, never given to the first).
// Each conflict and refused entry is logged and audited once.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "gateway/era_bridge.hpp"
#include "gateway/legacy_tasks.hpp"
#include "gateway/task_relay.hpp"
#include "gateway/upstream.hpp"
#include "server/backend.hpp"

namespace bastion::gateway {

struct GatewayOptions {
  // Upstream instances running at once, all servers together (a per-session
  // server counts one per session).
  std::size_t max_processes = 256;
  // Looks up a secret by name for a server's `secrets:` (nullopt: not set).
  std::function<std::optional<std::string>(const std::string& name)> secrets;
  // How every upstream opens its channel (empty: the real one, each server's
  // sandbox runtime or HTTP; tests pass scripted servers).
  ChannelFactory channel_factory;
  // Where the gateway's audit events go (refused catalogue entries, name
  // and URI conflicts); empty: only the log.
  std::function<void(boost::json::object event)> audit;
  // Where tool, prompt and resource-template definitions are pinned
  // (pin_store.hpp), normally <data_dir>/pins. Empty: nothing is pinned
  // (every server behaves as `pinning: off`; `lint: block` still withholds).
  std::filesystem::path pins_dir;
  // How often the pins are looked at for an operator's decision (a stat per
  // server); a tools/list looks at them too.
  std::chrono::milliseconds pins_poll{1000};
  // Where the linter's compiled patterns are cached (lint.hpp's
  // set_lint_cache_dir), normally <data_dir>/cache/lint; empty: compiled at
  // start, not cached.
  std::filesystem::path lint_cache_dir;
  // Calls of Modern clients waiting for their input while a Legacy server
  // waits for the answer (era_bridge.hpp): how many, and for how long.
  EraBridgeOptions era_bridge;
  // Seals the task ids the gateway gives clients for upstreams' tasks
  // (task_relay.hpp); its ttl bounds how long a task can be followed. Null:
  // a random key, 24 h (ids do not survive a restart).
  std::shared_ptr<const protocol::StateSealer> task_ids;
  // Bastion's own tasks around Legacy servers' calls (legacy_tasks.hpp).
  server::TaskLimits legacy_tasks = default_legacy_task_limits();
};

class GatewayBackend : public server::Backend, public std::enable_shared_from_this<GatewayBackend> {
 public:
  GatewayBackend(boost::asio::any_io_executor ex, std::vector<UpstreamOptions> upstreams,
                 GatewayOptions options = {});
  ~GatewayBackend() override;

  // Starts the eager upstreams in the background.
  void start();
  // Stops every upstream and reaps its processes.
  void shutdown();
  // The configured servers (prototypes for per-session ones), a snapshot.
  std::vector<std::shared_ptr<Upstream>> upstreams() const;

  // Applies a new server list: unchanged servers keep running (and their
  // sessions with them), changed ones restart, removed ones stop, new ones
  // appear. Clients are told their lists changed.
  struct ReloadReport {
    std::vector<std::string> added, changed, removed, unchanged;
  };
  ReloadReport reload(std::vector<UpstreamOptions> next);

  std::string_view name() const override { return "gateway"; }
  bool local() const override { return false; }
  boost::json::object capabilities() const override;
  boost::asio::awaitable<std::vector<server::Listed>> list(server::Kind kind,
                                                           server::RequestContext& ctx) override;
  // Tools and prompts route by prefix alone (each server owns the names under
  // "<prefix>__"; the one unprefixed server, if any, the names under no
  // prefix), resource URIs by who lists or templates them. The route names
  // the configured server; settle() picks the instance and checks the name.
  std::optional<server::Route> resolve(server::Kind kind, std::string_view key) const override;
  std::vector<protocol::ParamHeader> param_headers(const server::Route& route) const override;
  // A Legacy server's input_required never gets past the bridge
  // (EraBridge::from_legacy refuses it): only a route to an instance that
  // speaks Modern, or whose era is not known yet, may ask.
  bool may_ask_input(const server::Route& route, const server::RequestContext& ctx) const override;
  boost::asio::awaitable<server::Settled> settle(server::Route route,
                                                 server::RequestContext& ctx) override;
  boost::asio::awaitable<protocol::Outcome> call(const server::Route& route,
                                                 std::string_view method,
                                                 boost::json::object params,
                                                 server::RequestContext& ctx) override;
  // tasks/* for a task an upstream created: to that upstream, with its own id.
  boost::asio::awaitable<std::optional<server::TaskReply>> task_request(
      std::string_view method, const boost::json::object& params,
      server::RequestContext& ctx) override;
  void on_client_notification(std::string_view session_id, const boost::json::object& msg) override;
  void on_session_closed(std::string_view session_id) override;
  void on_listen(std::string_view key, const std::vector<server::Route>& routes) override;
  void on_listen_closed(std::string_view key) override;
  // An operator's stop and restart of the configured server `name` (its
  // per-session instances too). A stopped server stays stopped until
  // restarted; a restart starts it at once. False: no such server.
  bool stop_server(const std::string& name);
  bool restart_server(const std::string& name);

  // Upstream instances running now (shared and per-session).
  std::size_t running_instances() const;
  // Calls of Modern clients waiting for their input now (era_bridge.hpp).
  std::size_t waiting_for_input() const { return bridge_->pending(); }
  // Bastion's own tasks around Legacy calls, running or finished.
  std::size_t gateway_tasks() const { return legacy_tasks_->size(); }

 private:
  void rebuild_index();
  // Upstream::Events::vet for server `o`: lints the entries, consults and
  // updates the pins, audits what changed.
  std::vector<PinDecision> vet(const UpstreamOptions& o, server::Kind kind,
                               const std::vector<CatalogueEntry>& entries, bool record);
  // Re-decides what clients see of each server whose pins another process
  // (an operator's `bastion tools approve`) rewrote.
  void check_pins();
  // Runs on the timer's strand and holds no GatewayBackend between ticks.
  static boost::asio::awaitable<void> watch_pins(std::weak_ptr<GatewayBackend> weak,
                                                 std::shared_ptr<boost::asio::steady_timer> timer,
                                                 std::chrono::milliseconds every);
  // The configured server whose namespace holds the tool/prompt name `key`.
  std::shared_ptr<Upstream> name_owner(std::string_view key) const;
  // The configured servers that list or template `uri`.
  std::vector<std::shared_ptr<Upstream>> uri_claimants(std::string_view uri) const;
  // The configured server other than `self` in whose namespace `name` lies.
  std::shared_ptr<Upstream> namespace_of(std::string_view name,
                                         const std::shared_ptr<Upstream>& self) const;
  // Logs and audits a catalogue note or a conflict, once per distinct one.
  void note(const std::string& server, const CatalogueNote& n) const;
  void conflict(server::Kind kind, std::string_view key,
                const std::vector<std::shared_ptr<Upstream>>& servers,
                std::string_view resolution) const;
  bool first_report(std::string key) const;
  // The instance serving `session` for server `slot`: the shared one, or the
  // session's own (created on demand); nullptr when a cap is reached.
  // `declare`: what a new per-session instance declares (a Modern request's
  // capability set, declared_for()); unset: all that its relay setting allows.
  std::shared_ptr<Upstream> instance(const std::shared_ptr<Upstream>& proto,
                                     const std::string& session, std::string* why = nullptr,
                                     std::optional<RelayOptions> declare = std::nullopt);
  // A Legacy server learns client capabilities once per session, from
  // initialize, so the shared session (which declares all that `relay`
  // allows) cannot serve a Modern request that declares less: the server
  // would ask it for what it cannot give. Such a request goes to a session
  // of its own capability set instead, one per set and server (7 sets
  // besides the shared one's, relay.hpp declared_for). Over stdio a call
  // also avoids an instance where a call waits for its client's answer, or
  // one Bastion gave up on that the server may still run: it
  // gets another instance of its set. All are started on demand, stopped
  // when idle (the server's idle_shutdown, else 5 min), at most
  // max_instances per server and counted in max_processes. `u`: the ready
  // shared instance. At a bound the set's first instance (else the shared
  // one) serves it: over stdio its requests may then be refused as
  // ambiguous, and the shared session declares more than the client did,
  // but Bastion still relays nothing the client did not declare
  // (relay_refusal).
  // What a per-session instance made for `ctx` declares: a Modern
  // request's own capability set (its session is that one request).
  static std::optional<RelayOptions> declare_for(const std::shared_ptr<Upstream>& proto,
                                                 const server::RequestContext& ctx);
  // Whether `ctx` is a Modern client's retry of a call bridged to a
  // per-session instance of `proto` (its requestState names a waiting call).
  static bool resumes_bridged(const std::shared_ptr<Upstream>& proto,
                              const server::RequestContext& ctx);
  // A Modern request is a session of its own, ended with the request; its
  // per-session instance stays while something still needs it: a bridged
  // call waiting for the client's retry (until that call ends: answered, or
  // its requestState's wait passed) or a task of Bastion's running there
  // (until its call ends: done, cancelled, its ttl or timeouts.call). Each
  // needer holds the handle keep_instance() returns; when its session has
  // ended and the last handle goes, the instance stops. It counts in
  // max_instances and max_processes meanwhile, and nobody else reaches it:
  // its key is the ended request's session id, and a retry finds it only
  // through a requestState sealed to its caller. Null for a shared instance.
  std::shared_ptr<void> keep_instance(const std::shared_ptr<Upstream>& u);
  void let_go(const std::shared_ptr<Upstream>& u);
  // Takes the per-session instance `u` out of the table (under
  // instances_mu_); false when it is not there.
  bool drop_instance(const Upstream* u);
  boost::asio::awaitable<std::shared_ptr<Upstream>> capability_instance(
      const std::shared_ptr<Upstream>& proto, std::shared_ptr<Upstream> u,
      server::RequestContext& ctx);
  // `session`: the client session a per-session instance belongs to ("" for shared).
  std::shared_ptr<Upstream> make_upstream(const UpstreamOptions& o,
                                          const std::string& session = "");
  // An instance whose catalogue describes `proto` (for the name index).
  std::shared_ptr<Upstream> catalogue_source(const std::shared_ptr<Upstream>& proto) const;
  std::vector<std::shared_ptr<Upstream>> snapshot() const;
  // Posts prepare_lint() to the stopper pool when one of `ups` lints.
  void prepare_lint_if_needed(const std::vector<std::shared_ptr<Upstream>>& ups);
  void start_if_eager(const std::shared_ptr<Upstream>& u);
  static boost::asio::awaitable<void> start_again(std::shared_ptr<Upstream> u);
  // Takes the per-session instances of `proto` out of the table; the caller
  // stops them with the prototype.
  std::vector<std::shared_ptr<Upstream>> take_instances(const std::shared_ptr<Upstream>& proto);
  // Stopping waits for the process to exit, so it runs on stopper_, never on
  // an I/O thread; shutdown() waits for what is queued there.
  void stop_later(std::vector<std::shared_ptr<Upstream>> gone, std::string reason);

  boost::asio::any_io_executor ex_;
  GatewayOptions opts_;
  mutable std::shared_mutex topo_mu_;  // guards upstreams_ (reload swaps it)
  std::vector<std::shared_ptr<Upstream>>
      upstreams_;  // per configured server (prototype when per-session)
  mutable std::mutex instances_mu_;
  std::map<const Upstream*, std::map<std::string, std::shared_ptr<Upstream>>> per_session_;
  struct Kept {
    std::size_t holds = 0;  // keep_instance() handles alive
    bool orphaned = false;  // its session ended: stop it at the last let_go()
  };
  std::map<const Upstream*, Kept> kept_;  // per-session instances kept (instances_mu_)
  mutable std::shared_mutex mu_;          // guards the URI index
  std::map<std::string, std::vector<std::shared_ptr<Upstream>>, std::less<>> resources_;
  std::vector<std::pair<std::string, std::shared_ptr<Upstream>>> templates_;  // uriTemplate, owner
  mutable std::mutex reported_mu_;
  mutable std::set<std::string> reported_;  // conflicts and notes already logged (bounded)
  std::shared_ptr<PinStore> pins_;          // null without pins_dir
  std::mutex pins_mu_;                      // guards pin_signatures_
  std::map<std::string, std::string> pin_signatures_;  // server -> PinStore::signature
  std::shared_ptr<boost::asio::steady_timer> pin_timer_;
  std::atomic<bool> shut_{false};
  std::shared_ptr<EraBridge> bridge_;          // Legacy<->Modern translation of each call
  std::shared_ptr<LegacyTasks> legacy_tasks_;  // tasks of Bastion's around Legacy calls
  TaskIds task_ids_;
  boost::asio::thread_pool stopper_{2};
};

}  // namespace bastion::gateway
