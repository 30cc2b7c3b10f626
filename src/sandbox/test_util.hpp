// Shared by the sandbox tests and bench/spawn_bench.cpp: where this host
// mounts a cgroup2 file system, for spawning into a v2 leaf; whether an
// argument list holds a value.
#pragma once

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace bastion::sandbox::testing {

// The mount point of the first cgroup2 file system in /proc/self/mountinfo;
// "" when there is none.
inline std::string cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" - cgroup2 ") == std::string::npos) continue;
    std::istringstream f(line);
    std::string id, parent, dev, root, mount;
    f >> id >> parent >> dev >> root >> mount;
    return mount;
  }
  return "";
}

inline bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace bastion::sandbox::testing
