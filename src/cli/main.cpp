// bastion: the command-line entry point. Each subcommand is a thin shell
// over app/ (and the modules' library functions).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "app/app.hpp"
#include "app/bridge.hpp"
#include "app/client_config.hpp"
#include "app/doctor.hpp"
#include "app/options.hpp"
#include "auth/token_client.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "protocol/version.hpp"
#include "sandbox/descriptors.hpp"
#include "storage/private_file.hpp"

namespace {

int run(int argc, char** argv) {
  using namespace bastion;
  CLI::App cli{"Bastion: one secure endpoint for many sandboxed MCP servers"};
  cli.set_version_flag("--version", "bastion " + std::string(protocol::bastion_version()));
  cli.require_subcommand(1);

  cli::Common common;
  std::optional<std::string>& config_path = common.config_path;
  app::Overrides& ov = common.overrides;
  std::string listen, log_level;
  bool testkit = false;

  auto add_common = [&](CLI::App* sub) {
    cli::add_config_options(sub, common);
    sub->add_option("--log-level", log_level, "trace|debug|info|warn|error|critical|off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    sub->add_flag("--testkit", testkit,
                  "Expose the MCP conformance fixtures (test_* tools; never in production)");
  };

  auto* serve = cli.add_subcommand("serve", "Serve MCP over Streamable HTTP");
  add_common(serve);
  serve->add_option("-l,--listen", listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");

  auto* stdio = cli.add_subcommand("stdio", "Serve the same catalogue over stdin/stdout");
  add_common(stdio);

  auto* check = cli.add_subcommand("check-config", "Validate a configuration file and exit");
  add_common(check);

  app::BridgeOptions bridge;
  std::vector<std::string> bridge_headers;
  auto* connect = cli.add_subcommand(
      "connect", "Stdio bridge: relay MCP on stdin/stdout to a remote Streamable HTTP endpoint");
  connect->add_option("--url", bridge.url, "Remote MCP endpoint, e.g. http://127.0.0.1:8080/mcp")
      ->required();
  connect->add_option("-H,--header", bridge_headers, "Extra header 'Name: value' (repeatable)");
  connect->add_flag("--sse", bridge.legacy_sse, "The remote speaks the legacy HTTP+SSE transport");
  std::string bridge_secret_file;
  connect->add_option("--client-id", bridge.client_id, "OAuth2 client_id: fetch and renew a token")
      ->envname("BASTION_CLIENT_ID");
  auto* secret_opt = connect
                         ->add_option("--client-secret", bridge.client_secret,
                                      "Its secret (prefer $BASTION_CLIENT_SECRET or "
                                      "--client-secret-file: a command line is visible to ps)")
                         ->envname("BASTION_CLIENT_SECRET");
  connect->add_option("--client-secret-file", bridge_secret_file, "Read the secret from a file")
      ->check(CLI::ExistingFile)
      ->excludes(secret_opt);
  connect->add_flag("--login", bridge.login,
                    "Sign in as a user (authorization code + PKCE in the browser, on a loopback "
                    "redirect); the refresh token is kept sealed in --state-dir");
  connect->add_option("--state-dir", bridge.state_dir,
                      "Where --login keeps its sign-in (default: $XDG_STATE_HOME/bastion/connect "
                      "or ~/.local/state/bastion/connect)");
  bool no_browser = false;
  connect->add_flag("--no-browser", no_browser, "With --login: only print the URL to open");
  connect->add_option("--scope", bridge.scope,
                      "Scopes to ask for (default: with --login, all the server's metadata lists, "
                      "offline_access among them; else all the client has)");
  connect->add_option("--auth-url", bridge.auth_url,
                      "Authorization server base URL (default: the origin of --url)");

  std::string health_url = "http://127.0.0.1:8080/readyz";
  auto* health = cli.add_subcommand(
      "health", "GET a health endpoint; exit 0 on 200 (a container healthcheck without curl)");
  health->add_option("--url", health_url, "Endpoint to ask")->capture_default_str();

  auto* doctor =
      cli.add_subcommand("doctor", "Check this machine and a configuration, and say what to fix");
  add_common(doctor);

  app::ClientConfigOptions cc;
  auto* client_cfg = cli.add_subcommand(
      "client-config", "Print the MCP configuration JSON for Cursor, Claude Desktop or VS Code");
  client_cfg->add_option("client", cc.client, "cursor | claude | vscode")
      ->required()
      ->check(CLI::IsMember({"cursor", "claude", "vscode"}));
  client_cfg->add_option("--url", cc.url, "Bastion's MCP endpoint")->capture_default_str();
  client_cfg->add_option("--name", cc.name, "Server name in the client's config")
      ->capture_default_str();
  client_cfg->add_flag("--stdio", cc.stdio,
                       "Use the `bastion connect` stdio bridge instead of HTTP");
  client_cfg->add_option(
      "--token-env", cc.token_env,
      "Environment variable holding a bearer token (adds an Authorization header)");
  client_cfg->add_option("--client-id", cc.client_id,
                         "OAuth2 client the bridge gets tokens for (implies --stdio)");
  client_cfg->add_option("--client-secret-file", cc.secret_file,
                         "File with its secret (else $BASTION_CLIENT_SECRET in the client's env)");

  auto commands = cli::add_auth_commands(cli, common);
  for (auto& c : cli::add_security_commands(cli, common)) commands.push_back(std::move(c));
  for (auto& c : cli::add_user_commands(cli, common)) commands.push_back(std::move(c));
  for (auto& c : cli::add_tools_commands(cli, common)) commands.push_back(std::move(c));

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version exit 0; every usage error exits 2, as tools do.
    return cli.exit(e) == 0 ? 0 : 2;
  }

  if (!listen.empty()) ov.listen = listen;
  if (!log_level.empty()) ov.log_level = log_level;
  if (testkit) ov.testkit = true;

  for (const auto& c : commands) {
    if (!*c.sub) continue;
    app::setup_logging(app::LogOptions{log_level.empty() ? "warn" : log_level, "text"});
    // One clear line, as for serve: an exception must not reach terminate().
    try {
      return c.run();
    } catch (const config::ConfigError& e) {
      std::cerr << "bastion: configuration error: " << e.what() << "\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "bastion: " << e.what() << "\n";
      return 1;
    }
  }

  if (*doctor) {
    app::setup_logging(app::LogOptions{"error", "text"});
    return app::print_doctor(app::run_doctor(config_path, ov));
  }
  if (*health) {
    auto r = auth::http_get(health_url, std::chrono::seconds(5));
    if (!r) {
      std::cerr << "bastion: " << r.error().reason << "\n";
      return 1;
    }
    std::cout << r.value() << "\n";
    return 0;
  }
  if (*client_cfg) {
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) cc.bastion_path.assign(self, static_cast<std::size_t>(n));
    std::cout << boost::json::serialize(app::client_config(cc)) << "\n";
    return 0;
  }
  if (*connect) {
    app::setup_logging(app::LogOptions{log_level.empty() ? "warn" : log_level, "text"});
    for (const auto& h : bridge_headers) {
      auto colon = h.find(':');
      if (colon == std::string::npos) {
        std::cerr << "bastion: --header must look like 'Name: value'\n";
        return 2;
      }
      std::string value = h.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      // ${NAME} comes from the environment, so tokens stay out of config files.
      for (auto pos = value.find("${"); pos != std::string::npos; pos = value.find("${", pos)) {
        auto end = value.find('}', pos);
        if (end == std::string::npos) break;
        const char* env = std::getenv(value.substr(pos + 2, end - pos - 2).c_str());
        std::string repl = env ? env : "";
        value.replace(pos, end - pos + 1, repl);
        pos += repl.size();
      }
      bridge.headers[h.substr(0, colon)] = value;
    }
    if (!bridge_secret_file.empty()) {
      // Like ssh with a private key: a secret others can read is refused.
      std::string why;
      auto text = storage::read_private_file(bridge_secret_file, &why);
      if (!text) {
        std::cerr << "bastion: --client-secret-file: " << why << "\n";
        return 2;
      }
      bridge.client_secret = storage::first_line(*text);
    }
    bridge.open_browser = !no_browser;
    if (bridge.login && bridge.state_dir.empty()) {
      const char* xdg = std::getenv("XDG_STATE_HOME");
      const char* home = std::getenv("HOME");
      bridge.state_dir = xdg && *xdg ? std::string(xdg) + "/bastion/connect"
                         : home      ? std::string(home) + "/.local/state/bastion/connect"
                                     : std::string("./bastion-connect");
    }
    if (!bridge.login && !bridge.client_id.empty() && bridge.client_secret.empty()) {
      std::cerr << "bastion: --client-id needs a secret: --client-secret-file, "
                   "$BASTION_CLIENT_SECRET or --client-secret\n";
      return 2;
    }
    return app::run_bridge(bridge);
  }
  try {
    auto opts = app::load_options(config_path, ov);
    app::setup_logging(opts.log);
    if (*check) {
      opts.check_only = true;
      app::App a(std::move(opts));
      std::cout << "configuration ok\n";
      return 0;
    }
    app::App a(std::move(opts), ov);
    if (*serve) return a.serve();
    if (*stdio) return a.stdio();
  } catch (const config::ConfigError& e) {
    std::cerr << "bastion: configuration error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "bastion: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

namespace bastion::cli {

void add_config_options(CLI::App* sub, Common& common) {
  sub->add_option_function<std::string>(
         "-c,--config", [&common](const std::string& p) { common.config_path = p; },
         "YAML configuration file")
      ->check(CLI::ExistingFile);
  sub->add_option_function<std::string>(
      "--data-dir", [&common](const std::string& d) { common.overrides.data_dir = d; },
      "Directory for keys, secrets and the audit log (default: the config's data_dir, ./data)");
}

std::string data_dir(const Common& common) {
  if (common.overrides.data_dir) return *common.overrides.data_dir;
  return app::load_options(common.config_path, common.overrides).data_dir;
}

std::filesystem::path auth_data_dir(const Common& common) {
  auto o = app::load_options(common.config_path, common.overrides);
  // As the server reads it (App::build): auth.data_dir as written, else <data dir>/auth.
  const auto& root = o.document->root();
  if (root.is_object())
    if (auto* a = root.get_object().if_contains("auth"); a && a->is_object())
      if (auto* d = a->get_object().if_contains("data_dir"); d && d->is_string())
        return std::string(d->get_string());
  return std::filesystem::path(o.data_dir) / "auth";
}

}  // namespace bastion::cli

int main(int argc, char** argv) {
  // A write to a pipe or socket whose reader is gone (an upstream that exited,
  // a client that hung up) must fail with EPIPE at that call site, never kill
  // the whole process. Children get the default back before exec (spawn.cpp).
  ::signal(SIGPIPE, SIG_IGN);
  // Descriptors our parent leaked to us are not ours to pass on: no exec of
  // ours (a server, docker, bwrap) gets them.
  bastion::sandbox::mark_inherited_cloexec();
  return run(argc, argv);
}
