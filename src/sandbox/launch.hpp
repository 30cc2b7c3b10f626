// How an upstream server is confined. A runtime turns the server's command
// into a LaunchPlan — the real command line, environment and pre-exec setup
// — and reports what it enforced (the reason goes to the log and audit):
//   bwrap    new user/pid/ipc/uts/net/cgroup namespaces, a read-only view of
//            only the paths the server needs, private /tmp, no network unless
//            granted, a seccomp filter, cgroup/rlimit resource limits.
//   docker   `docker run -i --rm` (or `docker exec -i` into a named container)
//            with no network, read-only root, all capabilities dropped.
//   process  no isolation at all (only when configured explicitly).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sandbox/spawn.hpp"

namespace bastion::sandbox {

struct Limits {
  std::uint64_t memory_bytes = 1024ull
                               << 20;  // cgroup memory (RLIMIT_DATA without cgroups); 0 = none
  std::uint64_t cpu_seconds = 0;       // RLIMIT_CPU; 0 = none
  std::uint64_t max_pids = 256;        // cgroup pids.max; 0 = none
  std::uint64_t open_files = 1024;     // RLIMIT_NOFILE
};

struct SandboxOptions {
  std::string runtime = "bwrap";        // bwrap | docker | process
  bool network = false;                 // grant network access
  std::vector<std::string> read_only;   // host paths visible read-only (same path inside)
  std::vector<std::string> read_write;  // host paths visible read-write
  bool seccomp = true;                  // bwrap: block dangerous syscalls
  Limits limits;
  // docker runtime
  std::string image;      // docker run IMAGE ...
  std::string container;  // docker exec -i CONTAINER ... (the seed's mode)
  std::string docker_bin = "docker";
  std::string instance = "default";  // label value bastion.instance=<instance>
};

// What a runtime decided. `cleanup` undoes host-side state (cgroups, fds)
// after the child is gone.
struct LaunchPlan {
  ProcessSpec spec;
  std::vector<std::string> enforced;  // e.g. "net: isolated", "pids.max=256 (cgroup v1)"
  std::vector<int> owned_fds;         // closed by us after spawn
  std::function<void()> cleanup;
};

// Builds the plan for `argv` with environment `env` (the full environment
// the server should see) and working directory `cwd`. Throws
// std::runtime_error naming what is missing (e.g. bwrap not installed).
LaunchPlan plan_launch(const SandboxOptions& opts, const std::string& name,
                       const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env, const std::string& cwd);

// Removes containers labelled bastion.managed=1 and bastion.instance=<instance>
// (left behind by a bastion that crashed); returns how many. Best effort.
std::size_t remove_stale_containers(const std::string& docker_bin, const std::string& instance);

// Whether bwrap can create namespaces here (probed once).
bool bwrap_available();

// Paths a command needs beyond the system directories: argv elements that
// are existing absolute paths (a node_modules tree is bound whole).
std::vector<std::string> implied_paths(const std::vector<std::string>& argv);

}  // namespace bastion::sandbox
