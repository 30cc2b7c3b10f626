#include "app/doctor.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <iostream>

#include "app/options.hpp"
#include "gateway/options.hpp"
#include "sandbox/descriptors.hpp"
#include "sandbox/launch.hpp"
#include "sandbox/spawn.hpp"

namespace bastion::app {

namespace fs = std::filesystem;

namespace {

bool in_path(const std::string& cmd) {
  if (cmd.find('/') != std::string::npos) return ::access(cmd.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find(':', start);
    std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && ::access((dir + "/" + cmd).c_str(), X_OK) == 0) return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

bool docker_engine_reachable() {
  std::map<std::string, std::string> env;
  for (const char* k : {"PATH", "HOME", "DOCKER_HOST"})
    if (const char* v = std::getenv(k)) env[k] = v;
  try {
    auto h = sandbox::spawn_process(sandbox::ProcessSpec{{"docker", "version"}, env, "", {}});
    ::close(h.stdin_fd);
    ::close(h.stdout_fd);
    ::close(h.stderr_fd);
    int status = sandbox::wait_process(h.pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::vector<Check> run_doctor(const std::optional<std::string>& config_path, const Overrides& ov) {
  std::vector<Check> out;
  auto add = [&](std::string name, Check::Status s, std::string detail) {
    out.push_back({std::move(name), s, std::move(detail)});
  };

  if (!in_path("bwrap"))
    add("bubblewrap", Check::kFail,
        "bwrap is not installed: apt-get install bubblewrap (the default sandbox)");
  else if (!sandbox::bwrap_available())
    add("bubblewrap", Check::kFail,
        "bwrap cannot create namespaces here: allow unprivileged user namespaces "
        "(sysctl kernel.unprivileged_userns_clone=1) or use runtime: docker");
  else
    add("bubblewrap", Check::kPass, "bwrap creates user/pid/net/mount namespaces");

  if (!in_path("docker"))
    add("docker", Check::kWarn,
        "docker CLI not installed: only needed for runtime: docker (apt-get install docker.io)");
  else if (!docker_engine_reachable())
    add("docker", Check::kWarn,
        "docker CLI found but no engine answers: start dockerd or set DOCKER_HOST");
  else
    add("docker", Check::kPass, "docker engine reachable");

  std::optional<AppOptions> opts;
  try {
    opts = load_options(config_path, ov);
    add("configuration", Check::kPass,
        config_path ? *config_path + " is valid" : "defaults (no --config)");
  } catch (const std::exception& e) {
    add("configuration", Check::kFail, e.what());
    return out;
  }

  // Data directory: must be ours alone.
  struct stat st;
  if (::stat(opts->data_dir.c_str(), &st) != 0)
    add("data directory", Check::kWarn,
        fmt::format("{} does not exist yet: it will be created with mode 0700", opts->data_dir));
  else if ((st.st_mode & 077) != 0)
    add("data directory", Check::kFail,
        fmt::format("{} is accessible by group/others (mode {:o}): chmod 700 {}", opts->data_dir,
                    st.st_mode & 0777, opts->data_dir));
  else
    add("data directory", Check::kPass, opts->data_dir + " is private (0700)");

  // The listen address is free.
  try {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc);
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address(opts->http.host),
                                      opts->http.port);
    a.open(ep.protocol());
    sandbox::set_cloexec(a.native_handle());
    a.set_option(boost::asio::socket_base::reuse_address(true));
    a.bind(ep);
    add("listen address", Check::kPass,
        fmt::format("{}:{} is free", opts->http.host, opts->http.port));
  } catch (const std::exception& e) {
    add("listen address", Check::kFail,
        fmt::format("cannot bind {}:{} ({}): stop what uses it or change `listen`", opts->http.host,
                    opts->http.port, e.what()));
  }

  try {
    for (const auto& u : gateway::read_upstreams(*opts->document, protected_paths(*opts))) {
      std::string n = "server " + u.name;
      if (!u.url.empty()) {
        add(n, Check::kPass, "remote " + u.url);
        continue;
      }
      auto runtime = sandbox::to_string(u.sandbox.runtime);
      bool broken = false;
      if (!in_path(u.command.front())) {
        add(n, Check::kFail, fmt::format("command '{}' not found in PATH", u.command.front()));
        broken = true;
      } else if (u.sandbox.runtime == sandbox::RuntimeKind::kBwrap && !sandbox::bwrap_available()) {
        add(n, Check::kFail, "runtime: bwrap is not usable here (see bubblewrap above)");
        broken = true;
      }
      for (const auto& p : u.sandbox.read_only)
        if (!fs::exists(p)) {
          add(n, Check::kFail, fmt::format("granted path {} does not exist", p));
          broken = true;
        }
      if (broken) continue;
      // What a start would enforce, or why it would be refused (a bind that
      // exposes data_dir, a process limit nothing here can hold, a user
      // that cannot read the script...), without starting it.
      sandbox::LaunchRequest req{u.name, u.command, u.env, {}, u.cwd};
      auto pre = u.sandbox.runtime == sandbox::RuntimeKind::kDocker
                     ? sandbox::Result<std::vector<std::string>>(std::vector<std::string>{})
                     : sandbox::preflight(u.sandbox, sandbox::Host::system(), req);
      if (!pre.ok()) {
        add(n, Check::kFail, fmt::format("runtime: {} would refuse it: {}", runtime, pre.reason()));
        continue;
      }
      std::string enforced;
      for (const auto& e : pre.value()) enforced += "; " + e;
      if (u.sandbox.runtime == sandbox::RuntimeKind::kProcess)
        add(n, Check::kWarn,
            "runtime: process runs it without isolation: prefer bwrap or docker" + enforced);
      else
        add(n, Check::kPass, fmt::format("{} under {}{}", u.command.front(), runtime, enforced));
    }
  } catch (const std::exception& e) {
    add("servers", Check::kFail, e.what());
  }
  return out;
}

int print_doctor(const std::vector<Check>& checks) {
  int fails = 0;
  for (const auto& c : checks) {
    const char* tag = c.status == Check::kPass   ? "ok  "
                      : c.status == Check::kWarn ? "warn"
                                                 : "FAIL";
    if (c.status == Check::kFail) ++fails;
    std::cout << fmt::format("[{}] {}: {}\n", tag, c.name, c.detail);
  }
  std::cout << (fails ? fmt::format("{} problem(s) to fix\n", fails)
                      : std::string("all checks passed\n"));
  return fails ? 1 : 0;
}

}  // namespace bastion::app
