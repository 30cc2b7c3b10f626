#include "sandbox/cgroups.hpp"

#include <errno.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <set>

namespace bastion::sandbox {
namespace {

// A cgroup file system in memory, behaving as the kernel's does for what
// the module uses: mkdir makes the control files, rmdir fails while
// processes remain, control files cannot be created by writing.
class FakeCgroupFs : public CgroupFs {
 public:
  // v2: `controllers` enabled for children; v1: one hierarchy per name.
  explicit FakeCgroupFs(bool v2, std::set<std::string> controllers = {"pids", "memory"})
      : v2_(v2), enabled_(std::move(controllers)) {
    if (v2_) {
      mkdir_raw("/cg");
      files_["/cg/cgroup.controllers"] = "pids memory";
      files_["/cg/cgroup.subtree_control"] = "";
    } else {
      for (const char* h : {"/cg/pids", "/cg/memory"}) {
        mkdir_raw(h);
        files_[std::string(h) + "/cgroup.procs"] = "";
      }
    }
  }
  bool exists(const std::string& p) const override {
    std::lock_guard lk(mu_);
    return dirs_.count(p) || files_.count(p);
  }
  int make_dir(const std::string& p) override {
    std::lock_guard lk(mu_);
    if (read_only_) return EACCES;
    if (dirs_.count(p)) return EEXIST;
    mkdir_raw(p);
    files_[p + "/cgroup.procs"] = "";
    if (v2_) {
      files_[p + "/cgroup.kill"] = "";
      for (const auto& c : enabled_) add_controller_files(p, c);
    } else if (p.starts_with("/cg/pids/")) {
      files_[p + "/pids.max"] = "max";
    } else if (p.starts_with("/cg/memory/")) {
      files_[p + "/memory.limit_in_bytes"] = "";
    }
    return 0;
  }
  int remove_dir(const std::string& p) override {
    std::lock_guard lk(mu_);
    if (!dirs_.count(p)) return ENOENT;
    if (!procs_[p].empty()) return EBUSY;
    dirs_.erase(p);
    for (auto it = files_.begin(); it != files_.end();)
      it = it->first.starts_with(p + "/") ? files_.erase(it) : std::next(it);
    return 0;
  }
  int write(const std::string& p, const std::string& v) override {
    std::lock_guard lk(mu_);
    auto it = files_.find(p);
    if (it == files_.end()) return ENOENT;
    if (p.ends_with("/cgroup.subtree_control")) {
      // Enabling a controller gives the existing children its files too.
      if (v.starts_with("+")) {
        enabled_.insert(v.substr(1));
        for (const auto& d : dirs_)
          if (d.starts_with("/cg/")) add_controller_files(d, v.substr(1));
      }
      return 0;
    }
    if (p.ends_with("/cgroup.kill")) {
      procs_[p.substr(0, p.rfind('/'))].clear();
      return 0;
    }
    it->second = v;
    return 0;
  }
  std::optional<std::string> read(const std::string& p) const override {
    std::lock_guard lk(mu_);
    if (p.ends_with("/cgroup.procs")) {
      auto d = p.substr(0, p.rfind('/'));
      if (!dirs_.count(d)) return std::nullopt;
      std::string s;
      auto it = procs_.find(d);
      if (it != procs_.end())
        for (pid_t x : it->second) s += std::to_string(x) + "\n";
      return s;
    }
    auto it = files_.find(p);
    if (it == files_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> list_dirs(const std::string& p) const override {
    std::lock_guard lk(mu_);
    std::vector<std::string> out;
    for (const auto& d : dirs_)
      if (d.starts_with(p + "/") && d.find('/', p.size() + 1) == std::string::npos)
        out.push_back(d.substr(p.size() + 1));
    return out;
  }
  void kill(pid_t pid) override {
    std::lock_guard lk(mu_);
    killed_.insert(pid);
    for (auto& [d, s] : procs_) s.erase(pid);
  }

  void add_process(const std::string& dir, pid_t pid) {
    std::lock_guard lk(mu_);
    procs_[dir].insert(pid);
  }
  std::string file(const std::string& p) const { return read(p).value_or("<none>"); }
  bool has_dir(const std::string& p) const { return exists(p); }
  std::set<pid_t> killed() const {
    std::lock_guard lk(mu_);
    return killed_;
  }
  void set_read_only() { read_only_ = true; }

 private:
  void mkdir_raw(const std::string& p) { dirs_.insert(p); }
  void add_controller_files(const std::string& p, const std::string& c) {
    if (c == "pids") files_[p + "/pids.max"] = "max";
    if (c == "memory") {
      files_[p + "/memory.max"] = "max";
      files_[p + "/memory.swap.max"] = "max";
    }
  }

  mutable std::mutex mu_;
  bool v2_;
  bool read_only_ = false;
  std::set<std::string> enabled_;
  std::set<std::string> dirs_;
  std::map<std::string, std::string> files_;
  std::map<std::string, std::set<pid_t>> procs_;
  std::set<pid_t> killed_;
};

TEST(Cgroups, DetectsTheLayout) {
  FakeCgroupFs v2(true), v1(false);
  auto l2 = CgroupLayout::detect("/cg", v2);
  EXPECT_EQ(l2.v2, "/cg");
  EXPECT_TRUE(l2.v1_pids.empty());
  auto l1 = CgroupLayout::detect("/cg", v1);
  EXPECT_TRUE(l1.v2.empty());
  EXPECT_EQ(l1.v1_pids, "/cg/pids");
  EXPECT_EQ(l1.v1_memory, "/cg/memory");
  EXPECT_TRUE(CgroupLayout::detect("/elsewhere", v1).empty());
}

TEST(Cgroups, V2LeafGetsItsLimitsAndIsJoinedThroughItsProcsFile) {
  FakeCgroupFs fs(true);
  auto leaf = create_cgroup_leaf(CgroupLayout::detect("/cg", fs), fs, "bastion-1-s-0", 32, 1 << 20);
  EXPECT_TRUE(leaf.pids);
  EXPECT_TRUE(leaf.memory);
  EXPECT_EQ(fs.file("/cg/bastion-1-s-0/pids.max"), "32");
  EXPECT_EQ(fs.file("/cg/bastion-1-s-0/memory.max"), "1048576");
  EXPECT_EQ(fs.file("/cg/bastion-1-s-0/memory.swap.max"), "0");
  EXPECT_EQ(leaf.procs, std::vector<std::string>{"/cg/bastion-1-s-0/cgroup.procs"});
  EXPECT_EQ(leaf.enforced.front(), "pids.max=32 (cgroup v2)");
}

TEST(Cgroups, V2EnablesTheControllerForChildrenWhenItIsOff) {
  FakeCgroupFs fs(true, {});
  auto leaf = create_cgroup_leaf(CgroupLayout::detect("/cg", fs), fs, "bastion-1-s-0", 32, 0);
  EXPECT_TRUE(leaf.pids) << leaf.pids_problem;
  EXPECT_EQ(fs.file("/cg/bastion-1-s-0/pids.max"), "32");
}

TEST(Cgroups, V1UsesThePidsAndMemoryHierarchies) {
  FakeCgroupFs fs(false);
  auto leaf = create_cgroup_leaf(CgroupLayout::detect("/cg", fs), fs, "bastion-1-s-0", 16, 4096);
  EXPECT_TRUE(leaf.pids);
  EXPECT_TRUE(leaf.memory);
  EXPECT_EQ(fs.file("/cg/pids/bastion-1-s-0/pids.max"), "16");
  EXPECT_EQ(fs.file("/cg/memory/bastion-1-s-0/memory.limit_in_bytes"), "4096");
  EXPECT_EQ(leaf.procs.size(), 2u);
}

TEST(Cgroups, AnUnwritableTreeSaysWhyInsteadOfPretending) {
  FakeCgroupFs fs(false);
  fs.set_read_only();
  auto leaf = create_cgroup_leaf(CgroupLayout::detect("/cg", fs), fs, "bastion-1-s-0", 16, 4096);
  EXPECT_FALSE(leaf.pids);
  EXPECT_FALSE(leaf.memory);
  EXPECT_TRUE(leaf.procs.empty());
  EXPECT_TRUE(leaf.enforced.empty());
  EXPECT_NE(leaf.pids_problem.find("cannot create cgroup /cg/pids/bastion-1-s-0"),
            std::string::npos);
  EXPECT_NE(leaf.pids_problem.find("Permission denied"), std::string::npos);
}

TEST(Cgroups, RemovalKillsWhatIsLeftThenRemovesTheLeaf) {
  for (bool v2 : {true, false}) {
    FakeCgroupFs fs(v2);
    auto layout = CgroupLayout::detect("/cg", fs);
    auto leaf = create_cgroup_leaf(layout, fs, "bastion-1-s-0", 16, 0);
    std::string dir = leaf.dirs.at(0);
    fs.add_process(dir, 4242);  // a daemonised child the server left
    auto left = remove_cgroup_leaf(leaf, fs, std::chrono::milliseconds(500));
    EXPECT_TRUE(left.empty());
    EXPECT_FALSE(fs.has_dir(dir));
    if (!v2) {
      EXPECT_TRUE(fs.killed().count(4242));  // v2: cgroup.kill did it
    }
  }
}

TEST(Cgroups, StaleLeavesOfDeadBastionsGoLiveOnesStay) {
  FakeCgroupFs fs(false);
  auto layout = CgroupLayout::detect("/cg", fs);
  for (const char* d :
       {"bastion-111-a-0", "bastion-222-b-3", "bastion-333-c-1", "bastion-x-y", "other-111"})
    fs.make_dir("/cg/pids/" + std::string(d));
  fs.make_dir("/cg/pids/bastion-" + std::to_string(::getpid()) + "-mine-0");
  fs.add_process("/cg/pids/bastion-333-c-1", 77);  // still has processes: left alone
  auto alive = [](pid_t p) { return p == 222; };
  EXPECT_EQ(remove_stale_cgroup_leaves(layout, fs, alive), 1u);
  EXPECT_FALSE(fs.has_dir("/cg/pids/bastion-111-a-0"));
  EXPECT_TRUE(fs.has_dir("/cg/pids/bastion-222-b-3"));
  EXPECT_TRUE(fs.has_dir("/cg/pids/bastion-333-c-1"));
  EXPECT_TRUE(fs.has_dir("/cg/pids/bastion-x-y"));
  EXPECT_TRUE(fs.has_dir("/cg/pids/other-111"));
  EXPECT_TRUE(fs.has_dir("/cg/pids/bastion-" + std::to_string(::getpid()) + "-mine-0"));
}

TEST(Cgroups, LeafNamesAreUniqueAndCarryOurPid) {
  auto a = cgroup_leaf_name("srv");
  auto b = cgroup_leaf_name("srv");
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.starts_with("bastion-" + std::to_string(::getpid()) + "-srv-"));
}

}  // namespace
}  // namespace bastion::sandbox
