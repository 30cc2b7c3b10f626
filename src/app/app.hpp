// Wiring used by main() and by integration tests: builds the engine, its
// backends and filters from AppOptions and runs a transport until stopped.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "app/options.hpp"
#include "audit/log.hpp"
#include "auth/server.hpp"
#include "gateway/gateway.hpp"
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
  // The gateway needs the io_context the transport runs on.
  void attach_gateway(boost::asio::io_context& ioc);
  // Audit log, Fernet keys, secrets, the PII filter and the seed's security tools.
  void build_security(const config::Document& doc);
  void register_metrics();
  // Builds the authorization server and hooks it into `http`.
  void attach_auth(transport::HttpServer& http);
  void run_threads(boost::asio::io_context& ioc, std::size_t n);

  // SIGHUP: re-reads the configuration file; a bad file is logged and ignored.
  void reload();

  AppOptions opts_;
  Overrides overrides_;
  std::unique_ptr<server::Engine> engine_;
  std::vector<gateway::UpstreamOptions> upstreams_;
  std::shared_ptr<gateway::GatewayBackend> gateway_;
  // auth: the raw section (the issuer defaults to the bound address, known
  // only after bind), and the server once built.
  std::optional<boost::json::object> auth_config_;
  std::shared_ptr<auth::AuthServer> auth_;
  std::shared_ptr<audit::AuditLog> audit_;
  std::shared_ptr<const security::MultiFernet> fernet_;
  std::shared_ptr<security::SecretStore> secrets_;
  bool oauth2_tools_ = false;
};

}  // namespace bastion::app
