// Resource limits through cgroups: one leaf per server instance, named
// bastion-<Bastion's pid>-<server>-<n>, in the v2 unified hierarchy or in
// the v1 pids and memory hierarchies. The child joins its leaf first thing
// after fork, while it still has Bastion's rights, and a failed join stops
// the start. When the server is gone Bastion kills whatever is left in the
// leaf (cgroup.kill on v2), waits for it to empty and removes it; at start
// it removes the empty leaves of Bastions that no longer run.
//
// All file system access goes through CgroupFs, so tests can point the
// logic at a fake tree instead of the kernel's.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bastion::sandbox {

// The OS seam: the kernel's cgroup file system. Thread-safe.
class CgroupFs {
 public:
  virtual ~CgroupFs() = default;
  virtual bool exists(const std::string& path) const = 0;
  virtual int make_dir(const std::string& path) = 0;    // 0 or errno
  virtual int remove_dir(const std::string& path) = 0;  // 0 or errno
  // Writes an existing control file (never creates one); 0 or errno.
  virtual int write(const std::string& path, const std::string& value) = 0;
  virtual std::optional<std::string> read(const std::string& path) const = 0;
  virtual std::vector<std::string> list_dirs(const std::string& path) const = 0;
  virtual void kill(pid_t pid) = 0;  // SIGKILL
  static CgroupFs& system();
};

// Where leaves can be made.
struct CgroupLayout {
  std::string v2;         // the unified hierarchy (or a delegated subtree of it)
  std::string v1_pids;    // the v1 pids hierarchy
  std::string v1_memory;  // the v1 memory hierarchy
  // `root` is gateway.sandbox.cgroup_root (/sys/fs/cgroup by default): a v2
  // hierarchy when it has cgroup.controllers, else the v1 hierarchies under it.
  static CgroupLayout detect(const std::string& root, const CgroupFs& fs);
  bool empty() const { return v2.empty() && v1_pids.empty() && v1_memory.empty(); }
};

// One instance's leaf, as made.
struct CgroupLeaf {
  std::vector<std::string> dirs;   // removed by remove_leaf()
  std::vector<std::string> procs;  // the cgroup.procs files the child joins
  bool pids = false;               // pids.max is in force
  bool memory = false;             // a memory limit is in force
  std::vector<std::string> enforced;
  std::string pids_problem;  // why pids.max could not be set, when it could not
};

// "bastion-<pid>-<server>-<n>", unique within this process.
std::string cgroup_leaf_name(const std::string& server);

// Makes the leaf and writes its limits (0 = no limit of that kind). Never
// fails: what it could not do is absent from the result (pids, memory) and
// explained in pids_problem; the caller decides what else to use.
CgroupLeaf create_cgroup_leaf(const CgroupLayout& layout, CgroupFs& fs, const std::string& leaf,
                              std::uint64_t max_pids, std::uint64_t memory_bytes);

// Kills what is left in the leaf, waits up to `wait` for it to empty and
// removes its directories. Returns the directories it could not remove.
std::vector<std::string> remove_cgroup_leaf(const CgroupLeaf& leaf, CgroupFs& fs,
                                            std::chrono::milliseconds wait);

// Removes the empty leaves named bastion-<pid>-... whose Bastion (pid) is
// not alive. Returns how many it removed.
std::size_t remove_stale_cgroup_leaves(const CgroupLayout& layout, CgroupFs& fs,
                                       const std::function<bool(pid_t)>& alive);

}  // namespace bastion::sandbox
