// The whole configuration of one Bastion process, read once at start from
// the YAML file (and command-line overrides) into each module's Options.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "server/engine.hpp"
#include "transport/http_server.hpp"

namespace bastion::app {

struct LogOptions {
  std::string level = "info";   // trace, debug, info, warn, error, critical, off
  std::string format = "text";  // text or json (one JSON object per line)
};

struct Overrides;

struct AppOptions {
  std::shared_ptr<const config::Document> document;  // the file, for sections read later
  std::optional<std::string> config_path;            // for reloads (SIGHUP)
  // Keys, audit log, secrets (0700): --data-dir, else the file's data_dir
  // (relative to the file), else default_data_dir().
  std::string data_dir;
  std::size_t threads = 0;  // I/O threads; 0 = one per core
  LogOptions log;
  transport::HttpOptions http;
  server::EngineOptions engine;
  // How long a sealed Modern requestState stays valid (mcp.request_state_ttl).
  std::chrono::seconds request_state_ttl{600};
  bool testkit = false;  // the conformance fixtures (never in production)
  // check-config: read and validate everything, but create nothing (no data
  // directory, keys, secrets or audit log) and take no lock.
  bool check_only = false;
};

struct Overrides {
  std::optional<std::string> listen;  // HOST:PORT
  std::optional<bool> testkit;
  std::optional<std::string> data_dir;
  std::optional<std::string> log_level;
};

// Reads and validates; throws config::ConfigError naming file, line, reason.
AppOptions load_options(const std::optional<std::string>& path, const Overrides& ov);
// The same for a document already parsed (`path`: the file it came from,
// for relative paths); the fuzzer's entry point.
AppOptions options_from_document(std::shared_ptr<const config::Document> doc,
                                 const std::optional<std::string>& path, const Overrides& ov);

// What no upstream server may see: data_dir (keys, secrets, audit log), the
// audit and auth directories when elsewhere, secret files the configuration
// names (auth.clients[].secret_hash_file, auth.registration.
// initial_access_token_file, auth.login.providers[].client_secret_file), and
// the configuration files themselves. Absolute paths.
std::vector<std::string> protected_paths(const AppOptions& o);

// $BASTION_DATA_DIR, else $XDG_STATE_HOME/bastion, else ~/.local/state/bastion.
std::string default_data_dir();

// "127.0.0.1:8080", "[::1]:0", ":9000" → host, port. Throws on bad input.
std::pair<std::string, std::uint16_t> parse_listen(std::string_view s);

}  // namespace bastion::app
