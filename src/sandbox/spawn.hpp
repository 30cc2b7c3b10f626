// A child process with its stdin/stdout on pipes and stderr on a third pipe:
// what the `process` runtime runs directly and what bwrap and docker wrap.
// Between fork and exec the child, allocating nothing, in this order:
//   1. joins its cgroups (while it still has Bastion's rights); a cgroup v2
//      leaf it does not join but is born in (clone3 CLONE_INTO_CGROUP,
//      clone_into.hpp), falling back to fork and join where that fails,
//   2. sets its resource limits,
//   3. switches to the server's user (setgroups, setgid, setuid) when
//      Bastion is root, then asks to die with Bastion (PR_SET_PDEATHSIG,
//      which a uid change would clear) and sets no_new_privs,
//   4. checks, as that user, that it can reach the paths the server needs,
//   5. optionally enters a user namespace of its own and sets RLIMIT_NPROC
//      there (see rlimits.hpp),
//   6. puts its pipes on 0, 1, 2 and closes every other descriptor except
//      the ones it must pass on (descriptors.hpp),
//   7. changes directory and execs.
// A failed step stops the start; the error names the step and the path.
// The child gets its own process group; terminate_process() ends the whole
// group; a registry of live children lets shutdown kill and reap
// everything, so no upstream outlives bastion.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/error.hpp"

namespace bastion::sandbox {

struct UserSwitch {
  uid_t uid;
  gid_t gid;
};

struct AccessCheck {
  std::string path;
  int mode;  // R_OK, W_OK, X_OK
};

// Applied in the child between fork and exec, in the order above.
struct ChildSetup {
  std::vector<std::pair<int, rlim_t>> rlimits;  // (RLIMIT_*, value) set as soft and hard
  std::vector<std::string> cgroup_procs;        // "cgroup.procs" files the child joins
  std::vector<int> inherit_fds;                 // fds the exec'd program keeps (each >= 3)
  std::optional<UserSwitch> user;               // switch to this uid/gid (needs root)
  bool no_new_privs = false;
  std::vector<AccessCheck> access;  // as the final user
  // > 0: own user namespace, then RLIMIT_NPROC. The child makes the
  // namespace as the server's user; Bastion writes its uid and gid maps from
  // outside, so the child never makes itself dumpable (a copy of Bastion's
  // memory, keys included, that the server's uid could otherwise trace).
  std::uint64_t nproc_userns = 0;
  // Tests only: >= 0, the child reads one byte from it just before exec.
  int hold_before_exec_fd = -1;
};

struct ProcessSpec {
  std::vector<std::string> argv;           // argv[0]: a path, or a name looked up in search_path
  std::map<std::string, std::string> env;  // the whole environment of the child
  std::string cwd;                         // empty: inherit
  ChildSetup setup;
  std::string search_path;  // where argv[0] is looked up; empty: Bastion's own PATH
};

struct ProcessHandle {
  pid_t pid = -1;
  int stdin_fd = -1;   // write end, ours
  int stdout_fd = -1;  // read end, ours
  int stderr_fd = -1;  // read end, ours
};

// The error says which step failed and on what (e.g. "uid 1000000042 cannot
// read /srv/mcp/server.py: Permission denied ...").
Result<ProcessHandle> spawn(const ProcessSpec& spec);
// The same, throwing std::runtime_error with that reason.
ProcessHandle spawn_process(const ProcessSpec& spec);

// Waits for the child to exit by itself and forgets it; its wait status.
int wait_process(pid_t pid);

// SIGTERM to the group, SIGKILL after `grace`, and reap. Blocks at most
// `grace` + a little. Safe to call on an already-dead or unknown child.
void terminate_process(pid_t pid, std::chrono::milliseconds grace);

// Whether a child whose cgroup_procs include a cgroup v2 leaf is created in
// it with clone3(CLONE_INTO_CGROUP) (the default) or forked and joined by
// writing (tests and benchmarks compare the two), and how many children
// were created that way so far.
void set_clone_into_cgroup(bool enabled);
std::uint64_t children_born_in_cgroup();

// Every child spawned by this process that has not been reaped yet.
std::vector<pid_t> live_children();
// Kills and reaps them all (shutdown, fatal signals).
void terminate_all_children(std::chrono::milliseconds grace);

}  // namespace bastion::sandbox
