// Resource limits a server gets, and how each is enforced. setrlimit(2)
// values are applied in the child before exec. The process limit needs
// more care: RLIMIT_NPROC counts every process of a uid, so on its own it
// is not a per-server bound (under Bastion's uid it would count Bastion and
// everything else that user runs). Since Linux 5.14 the count is kept per
// user namespace (ucounts) and checked at every level, each level against
// the limit in force when the namespace below it was made. So when no
// cgroup can bound a server, the child creates a user namespace of its own
// (while its limit is still the host's) and only then sets RLIMIT_NPROC:
// the check that bites is the one counting that namespace's processes,
// i.e. this server's. Where neither works the server does not start.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/error.hpp"

namespace bastion::sandbox {

struct Limits {
  std::uint64_t memory_bytes = 1024ull << 20;  // cgroup memory (RLIMIT_DATA without); 0 = none
  std::uint64_t cpu_seconds = 0;               // RLIMIT_CPU; 0 = none
  std::uint64_t max_pids = 256;                // processes and threads; 0 = none
  std::uint64_t open_files = 1024;             // RLIMIT_NOFILE
};

struct RlimitPlan {
  std::vector<std::pair<int, rlim_t>> values;  // (RLIMIT_*, soft = hard)
  std::vector<std::string> enforced;
};

// RLIMIT_CORE 0 always; NOFILE, CPU; DATA when memory has no cgroup (not
// RLIMIT_AS: runtimes like V8 reserve far more address space than they use).
RlimitPlan rlimits_for(const Limits& limits, bool memory_in_cgroup);

// How limits.pids is enforced for one start.
enum class PidsBound {
  kNone,           // limits.pids: 0
  kCgroup,         // pids.max
  kUserNamespace,  // RLIMIT_NPROC in the child's own user namespace
  kDocker,         // docker --pids-limit
};

// The first that works here; an error naming what was tried when none does.
// `cgroup_problem` says why the cgroup could not be used.
Result<PidsBound> choose_pids_bound(std::uint64_t max_pids, bool cgroup, bool user_namespace,
                                    const std::string& cgroup_problem);

}  // namespace bastion::sandbox
