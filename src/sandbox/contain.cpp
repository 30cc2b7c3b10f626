#include "sandbox/contain.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace bastion::sandbox {

namespace fs = std::filesystem;

Result<Containment> contain(const SandboxOptions& o, const Host& host, const std::string& server) {
  Containment c;
  auto id = resolve_identity(o.identity, o.user, o.instance + "/" + server, false, host.identity);
  if (!id.ok()) return id.error();
  c.identity = id.value();
  c.enforced.push_back("user: " + c.identity.description);
  const auto& lim = o.limits;
  if (host.cgroup_fs) {
    auto layout = CgroupLayout::detect(o.cgroup_root, *host.cgroup_fs);
    c.cgroup = create_cgroup_leaf(layout, *host.cgroup_fs, cgroup_leaf_name(server), lim.max_pids,
                                  lim.memory_bytes);
    if (layout.empty() && lim.max_pids)
      c.cgroup.pids_problem = fmt::format("no cgroup hierarchy under {}", o.cgroup_root);
  }
  auto pids =
      choose_pids_bound(lim.max_pids, c.cgroup.pids, host.user_namespaces, c.cgroup.pids_problem);
  if (!pids.ok()) {
    undo(c, host);
    return pids.error();
  }
  c.pids = pids.value();
  c.enforced.insert(c.enforced.end(), c.cgroup.enforced.begin(), c.cgroup.enforced.end());
  if (c.pids == PidsBound::kUserNamespace)
    c.enforced.push_back(
        fmt::format("RLIMIT_NPROC={} in the server's own user namespace (no cgroup: {})",
                    lim.max_pids, c.cgroup.pids_problem));
  if (c.pids == PidsBound::kNone) c.enforced.push_back("no process limit (limits.pids: 0)");
  c.rlimits = rlimits_for(lim, c.cgroup.memory);
  c.enforced.insert(c.enforced.end(), c.rlimits.enforced.begin(), c.rlimits.enforced.end());
  return c;
}

void undo(const Containment& c, const Host& host) {
  if (host.cgroup_fs && !c.cgroup.dirs.empty())
    remove_cgroup_leaf(c.cgroup, *host.cgroup_fs, std::chrono::milliseconds(2000));
}

void apply(const Containment& c, const SandboxOptions& o, ChildSetup& s) {
  s.cgroup_procs = c.cgroup.procs;
  s.rlimits = c.rlimits.values;
  if (c.identity.switch_user) s.user = UserSwitch{c.identity.uid, c.identity.gid};
  s.no_new_privs = true;
  if (c.pids == PidsBound::kUserNamespace) s.nproc_userns = o.limits.max_pids;
}

Result<Done> prepare_writable(const std::vector<std::string>& paths, const Identity& id) {
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::exists(p, ec)) continue;
    // Create the missing levels, each owned by the server's user.
    fs::path missing = p;
    std::vector<fs::path> levels;
    while (!missing.empty() && !fs::exists(missing, ec)) {
      levels.push_back(missing);
      missing = missing.parent_path();
    }
    for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
      if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST)
        return Error{fmt::format("cannot create paths.read_write {}: {}", it->string(),
                                 std::strerror(errno))};
      if (id.switch_user && ::chown(it->c_str(), id.uid, id.gid) != 0)
        return Error{fmt::format("cannot hand {} to uid {}: {}", it->string(), id.uid,
                                 std::strerror(errno))};
    }
  }
  return Done{};
}

}  // namespace bastion::sandbox
