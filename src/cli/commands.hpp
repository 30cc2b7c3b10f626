// Subcommand groups of the `bastion` CLI. Each add_* function registers its
// subcommands on `cli` and returns what to run when one of them was chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/options.hpp"

namespace bastion::cli {

struct Command {
  CLI::App* sub;
  std::function<int()> run;
};

// Options every subcommand that reads the configuration shares.
struct Common {
  std::optional<std::string> config_path;
  app::Overrides overrides;
};

// Adds -c/--config and --data-dir to `sub`.
void add_config_options(CLI::App* sub, Common& common);
// The data directory: --data-dir, else the config's data_dir, else ./data.
std::string data_dir(const Common& common);

// The auth data directory: the config's auth.data_dir, else <data dir>/auth.
std::filesystem::path auth_data_dir(const Common& common);

// user add|rm|passwd|list.
std::vector<Command> add_user_commands(CLI::App& cli, Common& common);
// client add, token.
std::vector<Command> add_auth_commands(CLI::App& cli, Common& common);
// tools list|diff|approve|reject.
std::vector<Command> add_tools_commands(CLI::App& cli, Common& common);
// secret, encrypt, decrypt, keys, pii, audit.
std::vector<Command> add_security_commands(CLI::App& cli, Common& common);

// A secret from the terminal or a pipe: stdin up to EOF, one trailing newline
// dropped. Empty when stdin is empty.
std::string read_stdin_secret();

}  // namespace bastion::cli
