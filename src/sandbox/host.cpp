#include "sandbox/host.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <mutex>

#include "sandbox/binds.hpp"
#include "sandbox/spawn.hpp"

namespace bastion::sandbox {

namespace {

// Runs a probe command as the user a server would run as; true when it
// exits 0.
bool probe(std::vector<std::string> argv, bool own_userns) {
  ProcessSpec spec{std::move(argv), {{"PATH", "/usr/local/bin:/usr/bin:/bin"}}, "/", {}};
  if (::geteuid() == 0) spec.setup.user = UserSwitch{65534, 65534};
  spec.setup.no_new_privs = true;
  if (own_userns) spec.setup.nproc_userns = 1024;
  auto h = spawn(spec);
  if (!h.ok()) return false;
  ::close(h->stdin_fd);
  ::close(h->stdout_fd);
  ::close(h->stderr_fd);
  int status = wait_process(h->pid);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

const Host& Host::system() {
  static std::once_flag once;
  static Host host;
  std::call_once(once, [] {
    host.identity = IdentityHost::system();
    host.cgroup_fs = &CgroupFs::system();
    host.home_dirs = home_directories();
    host.user_namespaces = probe({"true"}, true);
    host.bwrap = probe({"bwrap", "--unshare-all", "--unshare-user", "--die-with-parent",
                        "--disable-userns", "--ro-bind", "/", "/", "true"},
                       false);
  });
  return host;
}

}  // namespace bastion::sandbox
