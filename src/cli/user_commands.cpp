// `bastion user add|rm|passwd|list`: the local users of the sign-in pages.
// Passwords come from the terminal (echo off, typed twice) or, when stdin is
// not a terminal, from its first line: never from the command line, which
// every user of the machine can read in ps.
#include <termios.h>
#include <unistd.h>

#include <ctime>
#include <iostream>

#include "cli/commands.hpp"
#include "login/users.hpp"
#include "protocol/iso8601.hpp"
#include "storage/private_file.hpp"

namespace bastion::cli {

namespace {

// One line from fd 0 without its line end; nullopt at EOF before any byte.
std::optional<std::string> read_line_fd0() {
  std::string line;
  char c;
  bool any = false;
  while (true) {
    ssize_t n = ::read(0, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    any = true;
    if (c == '\n') break;
    line += c;
    if (line.size() > login::kMaxPasswordBytes + 1) break;
  }
  if (!any) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// A line typed on the terminal with echo off.
std::optional<std::string> prompt_hidden(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios old{};
  bool tty = ::tcgetattr(0, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(0, TCSAFLUSH, &quiet);
  }
  auto line = read_line_fd0();
  if (tty) ::tcsetattr(0, TCSAFLUSH, &old);
  return line;
}

// The new password, or nullopt after printing why not.
std::optional<std::string> read_new_password(const std::string& user) {
  if (::isatty(0)) {
    auto a = prompt_hidden(("New password for " + user + ": ").c_str());
    if (!a) return std::nullopt;
    if (auto why = login::check_password(*a); !why.empty()) {
      std::cerr << "bastion: " << why << "\n";
      return std::nullopt;
    }
    auto b = prompt_hidden("Again: ");
    if (!b || *a != *b) {
      std::cerr << "bastion: the passwords differ\n";
      return std::nullopt;
    }
    return a;
  }
  auto line = read_line_fd0();
  if (!line) {
    std::cerr << "bastion: no password on stdin (type it on a terminal, or pipe one line)\n";
    return std::nullopt;
  }
  return line;
}

// The auth data directory as the server wants it: levels this creates are
// 0700 from their mkdir (the server refuses an auth directory others can
// read).
std::filesystem::path prepared(const std::filesystem::path& auth_dir) {
  std::error_code ec;
  if (!std::filesystem::exists(auth_dir, ec)) storage::ensure_private_dir(auth_dir);
  return auth_dir / "users";
}

struct UserArgs {
  std::string name;
  bool json = false;
};

}  // namespace

std::vector<Command> add_user_commands(CLI::App& cli, Common& common) {
  std::vector<Command> out;
  auto* user = cli.add_subcommand(
      "user",
      "Manage the local users who sign in on Bastion's login page (stored in the data "
      "directory; what they may use is set by auth.access in the configuration)");
  user->require_subcommand(1);
  auto args = std::make_shared<UserArgs>();
  auto users_dir = [&common] { return prepared(auth_data_dir(common)); };

  auto* add = user->add_subcommand("add",
                                   "Add a user; the password is read from the terminal "
                                   "(or the first line of stdin)");
  cli::add_config_options(add, common);
  add->add_option("name", args->name, "User name (letters, digits, '.', '_', '-', '@')")
      ->required();
  out.push_back({add, [args, users_dir] {
                   if (auto why = login::check_user_name(args->name); !why.empty()) {
                     std::cerr << "bastion: " << why << "\n";
                     return 2;
                   }
                   login::UserStore users(users_dir());
                   if (users.find(args->name)) {
                     std::cerr << "bastion: user " << args->name << " exists\n";
                     return 1;
                   }
                   auto pw = read_new_password(args->name);
                   if (!pw) return 2;
                   auto r = users.add(args->name, *pw);
                   if (!r.ok()) {
                     std::cerr << "bastion: " << r.reason() << "\n";
                     return 1;
                   }
                   std::cerr << "user " << args->name
                             << " added; auth.access in the configuration says what it may use\n";
                   return 0;
                 }});

  auto* passwd = user->add_subcommand("passwd", "Change a user's password (ends their sessions)");
  cli::add_config_options(passwd, common);
  passwd->add_option("name", args->name, "User name")->required();
  out.push_back({passwd, [args, users_dir] {
                   login::UserStore users(users_dir());
                   if (!users.find(args->name)) {
                     std::cerr << "bastion: no user " << args->name << "\n";
                     return 1;
                   }
                   auto pw = read_new_password(args->name);
                   if (!pw) return 2;
                   auto r = users.set_password(args->name, *pw);
                   if (!r.ok()) {
                     std::cerr << "bastion: " << r.reason() << "\n";
                     return 1;
                   }
                   std::cerr << "password of " << args->name << " changed\n";
                   return 0;
                 }});

  auto* rm = user->add_subcommand("rm", "Remove a user (their sessions end at once)");
  cli::add_config_options(rm, common);
  rm->add_option("name", args->name, "User name")->required();
  out.push_back({rm, [args, users_dir] {
                   login::UserStore users(users_dir());
                   if (!users.remove(args->name)) {
                     std::cerr << "bastion: no user " << args->name << "\n";
                     return 1;
                   }
                   std::cerr << "user " << args->name << " removed\n";
                   return 0;
                 }});

  auto* list = user->add_subcommand("list", "List the local users");
  cli::add_config_options(list, common);
  list->add_flag("--json", args->json, "One JSON array");
  out.push_back({list, [args, users_dir] {
                   login::UserStore users(users_dir());
                   auto all = users.list();
                   if (args->json) {
                     boost::json::array a;
                     for (const auto& u : all)
                       a.push_back(boost::json::object{{"name", u.name},
                                                       {"created", u.created},
                                                       {"password_changed", u.password_changed}});
                     std::cout << boost::json::serialize(a) << "\n";
                     return 0;
                   }
                   for (const auto& u : all)
                     std::cout << u.name << "  created " << protocol::iso8601_utc(u.created)
                               << "  password set " << protocol::iso8601_utc(u.password_changed)
                               << "\n";
                   if (all.empty()) std::cerr << "no users\n";
                   return 0;
                 }});
  return out;
}

}  // namespace bastion::cli
