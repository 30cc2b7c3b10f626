#include "sandbox/rlimits.hpp"

#include <fmt/format.h>

namespace bastion::sandbox {

RlimitPlan rlimits_for(const Limits& lim, bool memory_in_cgroup) {
  RlimitPlan p;
  p.values.emplace_back(RLIMIT_CORE, 0);
  if (lim.open_files) {
    p.values.emplace_back(RLIMIT_NOFILE, lim.open_files);
    p.enforced.push_back(fmt::format("RLIMIT_NOFILE={}", lim.open_files));
  }
  if (lim.cpu_seconds) {
    p.values.emplace_back(RLIMIT_CPU, lim.cpu_seconds);
    p.enforced.push_back(fmt::format("RLIMIT_CPU={}s", lim.cpu_seconds));
  }
  if (lim.memory_bytes && !memory_in_cgroup) {
    p.values.emplace_back(RLIMIT_DATA, lim.memory_bytes);
    p.enforced.push_back(fmt::format("RLIMIT_DATA={}", lim.memory_bytes));
  }
  return p;
}

Result<PidsBound> choose_pids_bound(std::uint64_t max_pids, bool cgroup, bool user_namespace,
                                    const std::string& cgroup_problem) {
  if (max_pids == 0) return PidsBound::kNone;
  if (cgroup) return PidsBound::kCgroup;
  if (user_namespace) return PidsBound::kUserNamespace;
  return Error{fmt::format(
      "limits.pids ({}) cannot be enforced here: no cgroup ({}) and no user namespace for a "
      "per-server RLIMIT_NPROC; run Bastion where one of them works, or set `limits: {{pids: 0}}` "
      "to run this server without a process limit",
      max_pids, cgroup_problem.empty() ? "none usable" : cgroup_problem)};
}

}  // namespace bastion::sandbox
