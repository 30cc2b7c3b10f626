// Wiring used by main() and by integration tests: builds the engine, its
// backends and filters from AppOptions and runs a transport until stopped.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <mutex>

#include "app/options.hpp"
#include "audit/log.hpp"
#include "auth/server.hpp"
#include "console/options.hpp"
#include "gateway/gateway.hpp"
#include "login/access.hpp"
#include "login/interaction.hpp"
#include "login/options.hpp"
#include "security/fernet.hpp"
#include "security/secrets.hpp"
#include "server/engine.hpp"
#include "transport/http_server.hpp"

namespace bastion::app {

// Sends logs to stderr (never stdout: stdio mode owns it), text or JSON lines.
void setup_logging(const LogOptions& o);

class App {
 public:
  explicit App(AppOptions o, Overrides ov = {});
  ~App();

  // Streamable HTTP until SIGINT/SIGTERM. Returns the process exit code.
  int serve();
  // stdio until EOF on stdin or SIGINT/SIGTERM.
  int stdio();

  server::Engine& engine() { return *engine_; }

 private:
  void build();
  // The gateway runs its upstreams on io_, as the transport does.
  void attach_gateway();
  // After the transport stopped: closes sessions, stops upstreams, kills and
  // reaps every child, so nothing is left running when serve()/stdio() return.
  void stop_backends();
  // Audit log, Fernet keys, secrets, the PII filter and the seed's security tools.
  void build_security(const config::Document& doc);
  void register_metrics();
  // Builds the authorization server and hooks it into `http`.
  void attach_auth(transport::HttpServer& http);
  // `o` with the issuer defaulted to the address we are bound to (port 0
  // resolved) when auth.issuer is not set.
  auth::Options with_issuer(auth::Options o) const;
  // SIGHUP: applies auth.clients (nullopt: the section is gone); says what
  // else would need a restart.
  void apply_auth(const std::optional<auth::Options>& next);
  // Runs io_ on this thread until it stops: its only thread (connections on
  // it need no strand; transport/io_workers.hpp).
  void run_loop();

  // SIGHUP (and the console): re-reads the configuration file; a bad file is
  // logged and ignored. Returns "" when reloaded, else why not.
  std::string reload();
  // The console (console/console.hpp), when configured: after attach_auth.
  void attach_console(transport::HttpServer& http);

  // Every executor, strand, timer and descriptor below comes from io_. It is
  // declared first so it is destroyed last: nothing that holds an executor
  // (engine, sessions, mailboxes, gateway, upstreams) can outlive it.
  transport::IoLoop io_;
  // The HTTP connections' loops (serve()), one thread each: right after io_
  // for the same reason, so every session and mailbox given a worker's
  // executor is gone before the workers are. ~App destroys both queues'
  // handlers before any member goes (each can hold the other's objects).
  std::unique_ptr<transport::IoWorkers> workers_;
  AppOptions opts_;
  Overrides overrides_;
  std::unique_ptr<server::Engine> engine_;
  std::vector<gateway::UpstreamOptions> upstreams_;
  std::shared_ptr<gateway::GatewayBackend> gateway_;
  // auth: the section as read at start (the issuer, when not configured, is
  // the bound address, known only after bind), and the server once built.
  std::optional<auth::Options> auth_options_;
  std::uint16_t bound_port_ = 0;
  std::shared_ptr<auth::AuthServer> auth_;
  // auth.login / auth.access: the sign-in pages (login/interaction.hpp),
  // parsed at build time so check-config catches mistakes.
  std::optional<login::LoginOptions> login_;
  login::Access access_;
  std::shared_ptr<login::LoginInteraction> login_interaction_;
  console::ConsoleOptions console_;
  // One reload at a time (SIGHUP, the console); guards opts_.document after start.
  std::mutex reload_mu_;
  std::shared_ptr<audit::AuditLog> audit_;
  std::shared_ptr<const security::MultiFernet> fernet_;
  std::shared_ptr<security::SecretStore> secrets_;
  bool oauth2_tools_ = false;
};

}  // namespace bastion::app
