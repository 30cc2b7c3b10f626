#include "sandbox/bwrap.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "sandbox/contain.hpp"
#include "sandbox/environment.hpp"
#include "sandbox/seccomp.hpp"

namespace bastion::sandbox {

namespace fs = std::filesystem;

namespace {

bool exists(const char* p) {
  struct stat st;
  return ::lstat(p, &st) == 0;
}

bool is_symlink(const char* p) {
  struct stat st;
  return ::lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::vector<std::string> bwrap_arguments(const SandboxOptions& o, const std::vector<Bind>& binds,
                                         const std::string& cwd, int seccomp_fd) {
  std::vector<std::string> a = {"bwrap",
                                "--die-with-parent",
                                "--new-session",
                                "--unshare-user",
                                "--disable-userns",
                                "--unshare-pid",
                                "--unshare-ipc",
                                "--unshare-uts",
                                "--unshare-cgroup-try",
                                "--hostname",
                                "bastion-sandbox",
                                "--cap-drop",
                                "ALL"};
  if (!o.network) a.push_back("--unshare-net");
  // The system, read-only. /bin, /lib... are symlinks into /usr on Debian 12.
  a.insert(a.end(), {"--ro-bind", "/usr", "/usr"});
  for (const char* d : {"/bin", "/sbin", "/lib", "/lib64", "/lib32"}) {
    if (!exists(d)) continue;
    if (is_symlink(d))
      a.insert(a.end(), {"--symlink", fs::read_symlink(d).string(), d});
    else
      a.insert(a.end(), {"--ro-bind", d, d});
  }
  for (const char* e : {"/etc/ssl", "/etc/ca-certificates", "/etc/alternatives", "/etc/localtime",
                        "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/hosts"})
    a.insert(a.end(), {"--ro-bind-try", e, e});
  if (o.network) a.insert(a.end(), {"--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"});
  // bwrap covers /proc/sys read-only only when it runs as root: do it always.
  a.insert(a.end(), {"--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys", "--dev", "/dev",
                     "--tmpfs", "/tmp"});
  for (const auto& b : binds)
    a.insert(a.end(), {b.writable ? "--bind" : "--ro-bind", b.source, b.dest});
  a.insert(a.end(), {"--chdir", cwd.empty() ? "/tmp" : cwd});
  if (seccomp_fd >= 0) a.insert(a.end(), {"--seccomp", std::to_string(seccomp_fd)});
  a.push_back("--");
  return a;
}

Result<LaunchPlan> BwrapRuntime::plan(const LaunchRequest& req) const {
  if (req.argv.empty()) return Error{"empty command"};
  if (!host_.bwrap)
    return Error{
        "bubblewrap (bwrap) cannot create namespaces on this machine: install it (apt-get install "
        "bubblewrap), allow unprivileged user namespaces, or set `runtime: docker` or `runtime: "
        "process` for this server"};
  auto c = contain(opts_, host_, req.name);
  if (!c.ok()) return c.error();
  auto fail = [&](Error e) -> Result<LaunchPlan> {
    undo(c.value(), host_);
    return e;
  };
  if (auto w = prepare_writable(opts_.read_write, c->identity); !w.ok()) return fail(w.error());
  auto binds = plan_binds(req.argv, opts_.read_only, opts_.read_write,
                          BindPolicy{opts_.protected_paths, host_.home_dirs});
  if (!binds.ok()) return fail(binds.error());

  LaunchPlan plan;
  int seccomp_fd = -1;
  if (opts_.seccomp) {
    auto fd = seccomp_program_fd();
    if (!fd.ok()) return fail(fd.error());
    seccomp_fd = fd.value();
    plan.owned_fds.push_back(seccomp_fd);
    plan.spec.setup.inherit_fds.push_back(seccomp_fd);
  }
  apply(c.value(), opts_, plan.spec.setup);
  // bwrap resolves every bind source as the server's user: check first, so
  // the error names the path and the user.
  for (const auto& b : binds.value())
    plan.spec.setup.access.push_back(
        {b.source, (is_dir(b.source) ? R_OK | X_OK : R_OK) | (b.writable ? W_OK : 0)});

  plan.spec.argv = bwrap_arguments(opts_, binds.value(), req.cwd, seccomp_fd);
  plan.spec.argv.insert(plan.spec.argv.end(), req.argv.begin(), req.argv.end());
  // bwrap hands its own environment to the server: exactly the server's.
  plan.spec.env = server_environment(req.env, "/tmp");
  plan.enforced = c->enforced;
  plan.enforced.push_back("caps: none, no_new_privs, no user namespaces");
  plan.enforced.push_back(opts_.network ? "net: granted" : "net: isolated");
  plan.enforced.push_back(
      fmt::format("fs: system read-only, private /tmp (HOME), {} bind(s)", binds->size()));
  if (seccomp_fd >= 0) plan.enforced.push_back("seccomp: dangerous syscalls blocked");
  const Host& host = host_;
  plan.cleanup = [cont = c.value(), &host] { undo(cont, host); };
  return plan;
}

}  // namespace bastion::sandbox
