#include "sandbox/process.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "sandbox/contain.hpp"
#include "sandbox/environment.hpp"

namespace bastion::sandbox {

namespace fs = std::filesystem;

namespace {

// The server may have left anything in its HOME, symlinks included: as
// root, delete it as the server's user, with rm (which never follows them).
void remove_home(const std::string& home, const Identity& id) {
  if (!id.switch_user) {
    std::error_code ec;
    fs::remove_all(home, ec);
    return;
  }
  ProcessSpec rm{{"rm", "-rf", "--", home}, {{"PATH", kServerPath}}, "/", {}};
  rm.setup.user = UserSwitch{id.uid, id.gid};
  rm.search_path = kServerPath;
  auto h = spawn(rm);
  if (!h.ok()) return;
  ::close(h->stdin_fd);
  ::close(h->stdout_fd);
  ::close(h->stderr_fd);
  wait_process(h->pid);
  ::rmdir(home.c_str());
}

}  // namespace

Result<LaunchPlan> ProcessRuntime::plan(const LaunchRequest& req) const {
  if (req.argv.empty()) return Error{"empty command"};
  auto c = contain(opts_, host_, req.name);
  if (!c.ok()) return c.error();
  auto fail = [&](Error e) -> Result<LaunchPlan> {
    undo(c.value(), host_);
    return e;
  };
  if (auto w = prepare_writable(opts_.read_write, c->identity); !w.ok()) return fail(w.error());

  // A HOME of its own for this instance, not the host's.
  std::string home = (fs::temp_directory_path() / "bastion-home-XXXXXX").string();
  if (::mkdtemp(home.data()) == nullptr)
    return fail(
        Error{fmt::format("cannot create a HOME for the server: {}", std::strerror(errno))});
  if (c->identity.switch_user && ::chown(home.c_str(), c->identity.uid, c->identity.gid) != 0) {
    int e = errno;
    ::rmdir(home.c_str());
    return fail(Error{
        fmt::format("cannot hand {} to uid {}: {}", home, c->identity.uid, std::strerror(e))});
  }

  LaunchPlan plan;
  apply(c.value(), opts_, plan.spec.setup);
  plan.spec.argv = req.argv;
  plan.spec.env = server_environment(req.env, home);
  plan.spec.search_path = plan.spec.env["PATH"];
  plan.spec.cwd = req.cwd;
  // As the server's user, before exec: what it was told it may use.
  auto& access = plan.spec.setup.access;
  for (const auto& a : req.argv) {
    struct stat st;
    if (!a.empty() && a[0] == '/' && ::stat(a.c_str(), &st) == 0 && S_ISREG(st.st_mode))
      access.push_back({a, R_OK});
  }
  if (!req.cwd.empty()) access.push_back({req.cwd, X_OK});
  for (const auto& p : opts_.read_only) access.push_back({p, R_OK});
  for (const auto& p : opts_.read_write) access.push_back({p, R_OK | W_OK});

  plan.enforced.push_back(
      "none: runtime 'process' runs the server unconfined (no namespaces, no seccomp)");
  plan.enforced.insert(plan.enforced.end(), c->enforced.begin(), c->enforced.end());
  plan.enforced.push_back("no_new_privs, private HOME " + home);
  const Host& host = host_;
  plan.cleanup = [cont = c.value(), &host, home] {
    undo(cont, host);
    remove_home(home, cont.identity);
  };
  return plan;
}

}  // namespace bastion::sandbox
