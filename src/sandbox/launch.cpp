#include "sandbox/launch.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <seccomp.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace bastion::sandbox {

namespace fs = std::filesystem;

namespace {

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

bool is_symlink(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

// --- seccomp -----------------------------------------------------------------

// Syscalls no MCP server needs and sandbox escapes love. They fail with EPERM.
constexpr const char* kBlockedSyscalls[] = {
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "perf_event_open",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "open_by_handle_at",
    "name_to_handle_at",
    "unshare",
    "setns",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "syslog",
    "quotactl",
    "lookup_dcookie",
    "fanotify_init",
    "iopl",
    "ioperm",
    "vhangup",
    "fsopen",
    "fsmount",
    "move_mount",
    "open_tree",
};

// A memfd holding the compiled BPF program, for `bwrap --seccomp FD`.
int seccomp_fd() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) throw std::runtime_error("seccomp_init failed");
  for (const char* name : kBlockedSyscalls) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
  }
  int fd = ::memfd_create("bastion-seccomp", MFD_CLOEXEC);
  if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0) {
    seccomp_release(ctx);
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot export the seccomp filter");
  }
  seccomp_release(ctx);
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

// --- cgroups -----------------------------------------------------------------

std::atomic<std::uint64_t> g_cgroup_seq{0};

bool write_file(const std::string& path, const std::string& value) {
  std::ofstream f(path);
  f << value;
  f.flush();
  return static_cast<bool>(f);
}

// Creates a cgroup (v2, or the v1 pids/memory hierarchies) for one child and
// sets its limits. Returns the cgroup.procs files to join and a cleanup.
void apply_cgroup(const Limits& lim, const std::string& name, LaunchPlan& plan) {
  if (lim.max_pids == 0 && lim.memory_bytes == 0) return;
  std::string leaf = fmt::format("bastion-{}-{}-{}", ::getpid(), name, g_cgroup_seq++);
  std::vector<std::string> dirs;
  if (exists("/sys/fs/cgroup/cgroup.controllers")) {
    std::string dir = "/sys/fs/cgroup/" + leaf;
    if (::mkdir(dir.c_str(), 0755) == 0) {
      dirs.push_back(dir);
      if (lim.max_pids && write_file(dir + "/pids.max", std::to_string(lim.max_pids)))
        plan.enforced.push_back(fmt::format("pids.max={} (cgroup v2)", lim.max_pids));
      if (lim.memory_bytes && write_file(dir + "/memory.max", std::to_string(lim.memory_bytes)))
        plan.enforced.push_back(fmt::format("memory.max={} (cgroup v2)", lim.memory_bytes));
      plan.spec.setup.cgroup_procs.push_back(dir + "/cgroup.procs");
    }
  } else {
    if (lim.max_pids && exists("/sys/fs/cgroup/pids")) {
      std::string dir = "/sys/fs/cgroup/pids/" + leaf;
      if (::mkdir(dir.c_str(), 0755) == 0) {
        dirs.push_back(dir);
        if (write_file(dir + "/pids.max", std::to_string(lim.max_pids))) {
          plan.enforced.push_back(fmt::format("pids.max={} (cgroup v1)", lim.max_pids));
          plan.spec.setup.cgroup_procs.push_back(dir + "/cgroup.procs");
        }
      }
    }
    if (lim.memory_bytes && exists("/sys/fs/cgroup/memory")) {
      std::string dir = "/sys/fs/cgroup/memory/" + leaf;
      if (::mkdir(dir.c_str(), 0755) == 0) {
        dirs.push_back(dir);
        bool ok = write_file(dir + "/memory.limit_in_bytes", std::to_string(lim.memory_bytes));
        // Without swap accounting the limit would only push pages to swap.
        write_file(dir + "/memory.memsw.limit_in_bytes", std::to_string(lim.memory_bytes));
        if (ok) {
          plan.enforced.push_back(fmt::format("memory={} (cgroup v1)", lim.memory_bytes));
          plan.spec.setup.cgroup_procs.push_back(dir + "/cgroup.procs");
        }
      }
    }
  }
  auto prev = plan.cleanup;
  plan.cleanup = [dirs, prev] {
    if (prev) prev();
    for (const auto& d : dirs) ::rmdir(d.c_str());  // fails while processes remain: harmless
  };
}

void apply_rlimits(const Limits& lim, bool memory_in_cgroup, LaunchPlan& plan) {
  auto& r = plan.spec.setup.rlimits;
  r.emplace_back(RLIMIT_CORE, 0);
  if (lim.open_files) {
    r.emplace_back(RLIMIT_NOFILE, lim.open_files);
    plan.enforced.push_back(fmt::format("RLIMIT_NOFILE={}", lim.open_files));
  }
  if (lim.cpu_seconds) {
    r.emplace_back(RLIMIT_CPU, lim.cpu_seconds);
    plan.enforced.push_back(fmt::format("RLIMIT_CPU={}s", lim.cpu_seconds));
  }
  // RLIMIT_AS breaks runtimes that reserve address space (V8); RLIMIT_DATA
  // bounds what is actually writable.
  if (lim.memory_bytes && !memory_in_cgroup) {
    r.emplace_back(RLIMIT_DATA, lim.memory_bytes);
    plan.enforced.push_back(fmt::format("RLIMIT_DATA={}", lim.memory_bytes));
  }
}

bool has_memory_cgroup(const LaunchPlan& plan) {
  for (auto& e : plan.enforced)
    if (e.starts_with("memory")) return true;
  return false;
}

// --- runtimes ------------------------------------------------------------------

void plan_bwrap(const SandboxOptions& o, const std::string& name,
                const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                const std::string& cwd, LaunchPlan& plan) {
  if (!bwrap_available())
    throw std::runtime_error(
        "bubblewrap (bwrap) cannot create namespaces on this machine: install it (apt-get install "
        "bubblewrap) or set `runtime: docker` or `runtime: process` for this server");
  std::vector<std::string> a = {"bwrap",          "--die-with-parent",    "--new-session",
                                "--unshare-user", "--unshare-pid",        "--unshare-ipc",
                                "--unshare-uts",  "--unshare-cgroup-try", "--hostname",
                                "bastion-sandbox"};
  if (!o.network) {
    a.push_back("--unshare-net");
    plan.enforced.push_back("net: isolated (no network namespace access)");
  } else {
    plan.enforced.push_back("net: granted");
  }
  // The system, read-only. /bin, /lib... are symlinks into /usr on Debian 12.
  a.insert(a.end(), {"--ro-bind", "/usr", "/usr"});
  for (const char* d : {"/bin", "/sbin", "/lib", "/lib64", "/lib32"}) {
    if (!exists(d)) continue;
    if (is_symlink(d)) {
      a.insert(a.end(), {"--symlink", fs::read_symlink(d).string(), d});
    } else {
      a.insert(a.end(), {"--ro-bind", d, d});
    }
  }
  for (const char* e : {"/etc/ssl", "/etc/ca-certificates", "/etc/alternatives", "/etc/localtime",
                        "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/hosts"})
    a.insert(a.end(), {"--ro-bind-try", e, e});
  if (o.network) a.insert(a.end(), {"--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"});
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"});
  plan.enforced.push_back("fs: system read-only, private /tmp");
  for (const auto& p : o.read_only) a.insert(a.end(), {"--ro-bind", p, p});
  for (const auto& p : o.read_write) {
    std::error_code ec;
    fs::create_directories(p, ec);  // a writable data directory may not exist yet
    a.insert(a.end(), {"--bind", p, p});
  }
  for (const auto& p : implied_paths(argv)) a.insert(a.end(), {"--ro-bind-try", p, p});
  a.insert(a.end(), {"--chdir", cwd.empty() ? "/tmp" : cwd});
  a.push_back("--clearenv");
  for (const auto& [k, v] : env) a.insert(a.end(), {"--setenv", k, v});
  if (!env.count("HOME")) a.insert(a.end(), {"--setenv", "HOME", "/tmp"});
  if (o.seccomp) {
    int fd = seccomp_fd();
    plan.owned_fds.push_back(fd);
    plan.spec.setup.inherit_fds.push_back(fd);
    a.insert(a.end(), {"--seccomp", std::to_string(fd)});
    plan.enforced.push_back("seccomp: dangerous syscalls blocked");
  }
  a.push_back("--");
  a.insert(a.end(), argv.begin(), argv.end());
  plan.spec.argv = std::move(a);
  // bwrap itself needs only PATH to be found; the server's environment is
  // passed with --setenv above.
  plan.spec.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
  apply_cgroup(o.limits, name, plan);
  apply_rlimits(o.limits, has_memory_cgroup(plan), plan);
}

// `docker rm -f NAME`, waited for (bounded by docker itself).
void remove_container(const std::string& docker_bin, const std::string& name) {
  std::map<std::string, std::string> env;
  for (const char* k : {"PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG"})
    if (const char* v = std::getenv(k)) env[k] = v;
  try {
    auto h = spawn_process(ProcessSpec{{docker_bin, "rm", "-f", name}, env, "", {}});
    ::close(h.stdin_fd);
    ::close(h.stdout_fd);
    ::close(h.stderr_fd);
    ::waitpid(h.pid, nullptr, 0);
    terminate_process(h.pid, std::chrono::milliseconds(0));
  } catch (const std::exception& e) {
    spdlog::warn("docker rm -f {}: {}", name, e.what());
  }
}

void plan_docker(const SandboxOptions& o, const std::string& name,
                 const std::vector<std::string>& argv,
                 const std::map<std::string, std::string>& env, LaunchPlan& plan) {
  std::vector<std::string> a = {o.docker_bin};
  if (!o.container.empty()) {
    // The seed's mode: exec into an existing, separately managed container.
    a.insert(a.end(), {"exec", "-i"});
    for (const auto& [k, v] : env)
      if (k != "PATH" && k != "HOME") a.insert(a.end(), {"-e", k + "=" + v});
    a.push_back(o.container);
    plan.enforced.push_back("docker exec into " + o.container + " (its own isolation applies)");
  } else {
    if (o.image.empty())
      throw std::runtime_error("runtime docker needs `docker.image` or `docker.container`");
    std::string cname =
        fmt::format("bastion-{}-{}-{}-{}", o.instance, name, ::getpid(), g_cgroup_seq++);
    a.insert(a.end(), {"run", "-i", "--rm", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
                       "--security-opt", "no-new-privileges", "--label", "bastion.managed=1",
                       "--label", "bastion.instance=" + o.instance, "--label",
                       "bastion.server=" + name, "--name", cname});
    // Killing the docker CLI does not stop its container: remove it by name.
    plan.cleanup = [bin = o.docker_bin, cname] { remove_container(bin, cname); };
    if (!o.network) a.insert(a.end(), {"--network", "none"});
    if (o.limits.memory_bytes)
      a.insert(a.end(), {"--memory", std::to_string(o.limits.memory_bytes)});
    if (o.limits.max_pids) a.insert(a.end(), {"--pids-limit", std::to_string(o.limits.max_pids)});
    if (o.limits.cpu_seconds)
      a.insert(a.end(), {"--ulimit", fmt::format("cpu={}", o.limits.cpu_seconds)});
    for (const auto& p : o.read_only) a.insert(a.end(), {"-v", p + ":" + p + ":ro"});
    for (const auto& p : o.read_write) a.insert(a.end(), {"-v", p + ":" + p});
    for (const auto& [k, v] : env)
      if (k != "PATH" && k != "HOME") a.insert(a.end(), {"-e", k + "=" + v});
    a.push_back(o.image);
    plan.enforced.push_back(
        fmt::format("docker run: network {}, read-only root, caps dropped, no-new-privileges",
                    o.network ? "granted" : "none"));
  }
  a.insert(a.end(), argv.begin(), argv.end());
  plan.spec.argv = std::move(a);
  plan.spec.env.clear();
  for (const char* k : {"PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG"})
    if (const char* v = std::getenv(k)) plan.spec.env[k] = v;
}

}  // namespace

std::size_t remove_stale_containers(const std::string& docker_bin, const std::string& instance) {
  std::map<std::string, std::string> env;
  for (const char* k : {"PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG"})
    if (const char* v = std::getenv(k)) env[k] = v;
  std::string ids;
  try {
    auto h = spawn_process(
        ProcessSpec{{docker_bin, "ps", "-a", "-q", "--filter", "label=bastion.managed=1",
                     "--filter", "label=bastion.instance=" + instance},
                    env,
                    "",
                    {}});
    ::close(h.stdin_fd);
    ::close(h.stderr_fd);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(h.stdout_fd, buf, sizeof buf)) > 0)
      ids.append(buf, static_cast<std::size_t>(n));
    ::close(h.stdout_fd);
    ::waitpid(h.pid, nullptr, 0);
    terminate_process(h.pid, std::chrono::milliseconds(0));
  } catch (const std::exception& e) {
    spdlog::warn("listing stale containers failed: {}", e.what());
    return 0;
  }
  std::size_t count = 0;
  std::size_t pos = 0;
  while (pos < ids.size()) {
    auto nl = ids.find('\n', pos);
    std::string id = ids.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? ids.size() : nl + 1;
    if (id.empty()) continue;
    remove_container(docker_bin, id);
    ++count;
  }
  if (count)
    spdlog::warn("removed {} container(s) left by an earlier bastion (instance {})", count,
                 instance);
  return count;
}

bool bwrap_available() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    ProcessSpec probe{
        {"bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"},
        {{"PATH", "/usr/local/bin:/usr/bin:/bin"}},
        "",
        {}};
    try {
      auto h = spawn_process(probe);
      ::close(h.stdin_fd);
      ::close(h.stdout_fd);
      ::close(h.stderr_fd);
      int status = 0;
      ::waitpid(h.pid, &status, 0);
      terminate_process(h.pid, std::chrono::milliseconds(0));
      ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    } catch (const std::exception&) {
      ok = false;
    }
  });
  return ok;
}

std::vector<std::string> implied_paths(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (const auto& a : argv) {
    if (a.empty() || a[0] != '/' || !exists(a)) continue;
    fs::path p(a);
    if (p.string().starts_with("/usr/")) continue;
    // A Node package needs its whole node_modules tree (dependencies).
    fs::path bind = fs::is_directory(p) ? p : p.parent_path();
    for (fs::path q = p; q.has_parent_path() && q != q.parent_path(); q = q.parent_path())
      if (q.filename() == "node_modules") {
        bind = q;
        break;
      }
    out.push_back(bind.string());
  }
  return out;
}

LaunchPlan plan_launch(const SandboxOptions& opts, const std::string& name,
                       const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env, const std::string& cwd) {
  if (argv.empty()) throw std::runtime_error("empty command");
  LaunchPlan plan;
  plan.spec.cwd = opts.runtime == "bwrap" ? "" : cwd;
  if (opts.runtime == "bwrap") {
    plan_bwrap(opts, name, argv, env, cwd, plan);
  } else if (opts.runtime == "docker") {
    plan_docker(opts, name, argv, env, plan);
  } else if (opts.runtime == "process") {
    plan.spec.argv = argv;
    plan.spec.env = env;
    plan.enforced.push_back("none: runtime 'process' runs the server unconfined");
    apply_cgroup(opts.limits, name, plan);
    apply_rlimits(opts.limits, has_memory_cgroup(plan), plan);
  } else {
    throw std::runtime_error(fmt::format("unknown runtime '{}'", opts.runtime));
  }
  return plan;
}

}  // namespace bastion::sandbox
