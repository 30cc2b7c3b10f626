#include "sandbox/cgroups.hpp"

#include <errno.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

#include "sandbox/fake_cgroup_fs.hpp"

namespace bastion::sandbox {
namespace {

using sandbox::testing::FakeCgroupFs;

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
