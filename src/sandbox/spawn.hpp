// A child process with its stdin/stdout on pipes and stderr on a third pipe:
// what the `process` runtime runs directly and what bwrap and docker wrap.
// The child gets its own process group and dies with us (PR_SET_PDEATHSIG);
// terminate_process() ends the whole group; a registry of live children lets
// shutdown kill and reap everything, so no upstream outlives bastion.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace bastion::sandbox {

// Applied in the child between fork and exec.
struct ChildSetup {
  std::vector<std::pair<int, rlim_t>> rlimits;  // (RLIMIT_*, value) set as soft and hard
  std::vector<std::string> cgroup_procs;        // "cgroup.procs" files the child joins
  std::vector<int> inherit_fds;                 // fds the exec'd program must keep
};

struct ProcessSpec {
  std::vector<std::string> argv;           // argv[0] is looked up in PATH
  std::map<std::string, std::string> env;  // the whole environment of the child
  std::string cwd;                         // empty: inherit
  ChildSetup setup;
};

struct ProcessHandle {
  pid_t pid = -1;
  int stdin_fd = -1;   // write end, ours
  int stdout_fd = -1;  // read end, ours
  int stderr_fd = -1;  // read end, ours
};

// Throws std::runtime_error with the reason (e.g. "cannot run 'x': No such
// file or directory") when the child cannot be started.
ProcessHandle spawn_process(const ProcessSpec& spec);

// SIGTERM to the group, SIGKILL after `grace`, and reap. Blocks at most
// `grace` + a little. Safe to call on an already-dead or unknown child.
void terminate_process(pid_t pid, std::chrono::milliseconds grace);

// Every child spawned by this process that has not been reaped yet.
std::vector<pid_t> live_children();
// Kills and reaps them all (shutdown, fatal signals).
void terminate_all_children(std::chrono::milliseconds grace);

}  // namespace bastion::sandbox
