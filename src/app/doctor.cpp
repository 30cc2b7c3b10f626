#include "app/doctor.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <iostream>

#include "app/audit_config.hpp"
#include "app/options.hpp"
#include "audit/key.hpp"
#include "gateway/options.hpp"
#include "protocol/url_display.hpp"
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

std::string human_bytes(std::uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(b) / (1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1ull << 20));
  return fmt::format("{} KiB", b >> 10);
}

// The audit log: its key's fingerprint (what `bastion audit verify --key`
// pins), its retention and the space left where it is written.
template <class Add>
void check_audit(const AppOptions& opts, Add& add) {
  std::optional<audit::AuditOptions> ao;
  try {
    ao = read_audit_options(*opts.document, opts.data_dir);
  } catch (const std::exception& e) {
    add("audit log", Check::kFail, e.what());
    return;
  }
  if (!ao) {
    add("audit log", Check::kWarn, "disabled (audit.enabled: false): calls are not recorded");
    return;
  }
  std::error_code ec;
  if (!fs::exists(ao->dir / "audit.key", ec)) {
    add("audit key", Check::kWarn,
        fmt::format("{} has no key yet: the first start creates one and logs its fingerprint",
                    ao->dir.string()));
  } else {
    std::string why;
    auto key = audit::AuditKey::read(ao->dir, &why);
    if (!key)
      add("audit key", Check::kFail, why);
    else if (!ao->key_fingerprint.empty() && ao->key_fingerprint != key->fingerprint())
      add("audit key", Check::kFail,
          fmt::format("{} has fingerprint {}, but audit.key_fingerprint pins {}: the key was "
                      "replaced",
                      (ao->dir / "audit.key").string(), key->fingerprint(), ao->key_fingerprint));
    else
      add("audit key", Check::kPass,
          fmt::format("fingerprint {}{}; verify with `bastion audit verify --key {}`",
                      key->fingerprint(),
                      ao->key_fingerprint.empty() ? "" : " (pinned by audit.key_fingerprint)",
                      key->fingerprint()));
  }
  const auto& r = ao->retention;
  if (r.max_total_bytes == 0 && r.max_age.count() == 0 && r.keep_files == 0)
    add("audit retention", Check::kWarn,
        "max_total_size, max_age and keep_files are all 0: audit files are kept forever and will "
        "fill the disk (then calls are refused)");
  else
    add("audit retention", Check::kPass,
        fmt::format(
            "rotated files removed beyond {} in all{}",
            r.max_total_bytes ? human_bytes(r.max_total_bytes) : std::string("no size limit"),
            r.max_age.count() ? fmt::format(" or {} days old", r.max_age.count() / 86400)
                              : std::string()));
  // Free space where the log is (or will be).
  fs::path where = ao->dir;
  while (!where.empty() && !fs::exists(where, ec)) where = where.parent_path();
  struct statvfs vfs {};
  if (!where.empty() && ::statvfs(where.c_str(), &vfs) == 0) {
    std::uint64_t free = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    std::uint64_t need = r.max_total_bytes ? r.max_total_bytes : 2 * ao->max_file_bytes;
    if (free < 2 * ao->max_file_bytes + ao->reserve_bytes)
      add("audit disk", Check::kFail,
          fmt::format("{} free on the filesystem of {}: less than two audit files; calls will be "
                      "refused when it is full",
                      human_bytes(free), ao->dir.string()));
    else if (free < need)
      add("audit disk", Check::kWarn,
          fmt::format("{} free on the filesystem of {}, less than audit.max_total_size ({}): it "
                      "may fill before retention frees space, and then calls are refused",
                      human_bytes(free), ao->dir.string(), human_bytes(need)));
    else
      add("audit disk", Check::kPass,
          fmt::format("{} free for {}", human_bytes(free), ao->dir.string()));
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

  check_audit(*opts, add);

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
        add(n, Check::kPass, "remote " + protocol::display_url(u.url));
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
