// contain(): the steps the bwrap and process runtimes share, composed, on a
// cgroup tree in memory; apply() into the child setup; prepare_writable() on
// a real directory. Which pids bound each machine gets without cgroups is in
// runtime_test.cpp.
#include "sandbox/contain.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "sandbox/fake_cgroup_fs.hpp"
#include "storage/temp_dir.hpp"
#include "sandbox/test_util.hpp"

namespace bastion::sandbox {
namespace {

namespace fs = std::filesystem;
using sandbox::testing::FakeCgroupFs;

// Bastion as root on a machine with a cgroup v2 tree at /cg and no user
// namespaces for servers.
Host root_host(CgroupFs& cgroups) {
  Host h;
  h.identity.euid = 0;
  h.identity.egid = 0;
  h.cgroup_fs = &cgroups;
  return h;
}

SandboxOptions limits(std::uint64_t max_pids) {
  SandboxOptions o;
  o.cgroup_root = "/cg";
  o.limits.max_pids = max_pids;
  o.limits.memory_bytes = 1 << 20;
  return o;
}

using testing::has;

TEST(Contain, ACgroupLeafBoundsTheServerAndTheChildJoinsItAsItsOwnUser) {
  FakeCgroupFs cgroups(true);
  Host host = root_host(cgroups);
  SandboxOptions o = limits(32);
  auto c = contain(o, host, "weather");
  ASSERT_TRUE(c.ok()) << c.reason();
  EXPECT_EQ(c->pids, PidsBound::kCgroup);
  ASSERT_EQ(c->cgroup.dirs.size(), 1u);
  const std::string leaf = c->cgroup.dirs[0];
  EXPECT_TRUE(cgroups.has_dir(leaf));
  EXPECT_EQ(cgroups.file(leaf + "/pids.max"), "32");
  EXPECT_EQ(cgroups.file(leaf + "/memory.max"), "1048576");
  EXPECT_TRUE(has(c->enforced, "pids.max=32 (cgroup v2)"));
  EXPECT_TRUE(c->identity.switch_user);
  EXPECT_EQ(c->enforced.front(), "user: " + c->identity.description);

  ChildSetup setup;
  apply(c.value(), o, setup);
  EXPECT_EQ(setup.cgroup_procs, std::vector<std::string>{leaf + "/cgroup.procs"});
  ASSERT_TRUE(setup.user.has_value());
  EXPECT_EQ(setup.user->uid, c->identity.uid);
  EXPECT_GE(setup.user->uid, o.identity.uid_first);
  EXPECT_TRUE(setup.no_new_privs);
  EXPECT_EQ(setup.nproc_userns, 0u);  // the cgroup bounds it, not RLIMIT_NPROC
  EXPECT_EQ(setup.rlimits, c->rlimits.values);

  undo(c.value(), host);
  EXPECT_FALSE(cgroups.has_dir(leaf));
}

TEST(Contain, WhenNoPidsBoundWorksTheLeafItMadeIsRemoved) {
  // A v1 tree with a memory hierarchy and no pids one: the leaf is made (for
  // memory), then no way to bound processes is left.
  FakeCgroupFs cgroups(false);
  ASSERT_EQ(cgroups.remove_dir("/cg/pids"), 0);
  Host host = root_host(cgroups);
  auto c = contain(limits(32), host, "weather");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.reason().find("limits.pids (32) cannot be enforced"), std::string::npos)
      << c.reason();
  EXPECT_TRUE(cgroups.list_dirs("/cg/memory").empty()) << "a leaf was left behind";
  // With a pids hierarchy the same start gets a leaf in each.
  FakeCgroupFs both(false);
  Host host2 = root_host(both);
  auto ok = contain(limits(32), host2, "weather");
  ASSERT_TRUE(ok.ok()) << ok.reason();
  EXPECT_EQ(both.list_dirs("/cg/memory").size(), 1u);
  EXPECT_EQ(both.list_dirs("/cg/pids").size(), 1u);
  undo(ok.value(), host2);
}

TEST(Contain, WithoutCgroupsInAUserNamespaceTheChildGetsRlimitNproc) {
  FakeCgroupFs cgroups(true);
  cgroups.set_read_only();
  Host host = root_host(cgroups);
  host.user_namespaces = true;
  SandboxOptions o = limits(64);
  auto c = contain(o, host, "weather");
  ASSERT_TRUE(c.ok()) << c.reason();
  EXPECT_EQ(c->pids, PidsBound::kUserNamespace);
  ChildSetup setup;
  apply(c.value(), o, setup);
  EXPECT_EQ(setup.nproc_userns, 64u);
  EXPECT_TRUE(setup.cgroup_procs.empty());
}

TEST(Contain, PrepareWritableMakesOnlyTheMissingLevels) {
  storage::TempDir tmp;
  const fs::path kept = tmp.path() / "kept", deep = tmp.path() / "a" / "b" / "c";
  fs::create_directory(kept);
  ::chmod(kept.c_str(), 0755);
  Identity self;  // no user switch: Bastion's own uid
  auto r = prepare_writable({kept.string(), deep.string()}, self);
  ASSERT_TRUE(r.ok()) << r.reason();
  for (const auto& p : {tmp.path() / "a", tmp.path() / "a" / "b", deep}) {
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_mode & 07777, 0700u) << p;
  }
  struct stat st {};
  ASSERT_EQ(::stat(kept.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u) << "an existing directory is left as it is";
  // Under a regular file nothing can be made: the error names the path.
  std::ofstream(tmp.path() / "file") << "x";
  auto bad = prepare_writable({(tmp.path() / "file" / "sub").string()}, self);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.reason().find("cannot create paths.read_write"), std::string::npos) << bad.reason();
  EXPECT_NE(bad.reason().find((tmp.path() / "file" / "sub").string()), std::string::npos);
}

// A server that owns a directory on the way to its grant (Bastion made it
// for the server's uid) swaps a level for a link; the next instance's start
// must not create or hand over anything through it. As root the old code
// chowned the link's target (say /etc/shadow) to the server's uid.
TEST(Contain, PrepareWritableFollowsNoLinkInADirectoryOthersCanChange) {
  storage::TempDir tmp;
  const fs::path victim = tmp.path() / "victim", server_dir = tmp.path() / "server";
  fs::create_directory(victim);
  fs::create_directory(server_dir);
  ::chmod(victim.c_str(), 0755);
  ::chmod(server_dir.c_str(), 0777);  // writable by others: as the server's own would be
  fs::create_directory_symlink(victim, server_dir / "data");
  Identity self;
  self.switch_user = true;  // chown to ourselves: allowed without root, and what root would do
  self.uid = ::geteuid();
  self.gid = ::getegid();
  auto r = prepare_writable({(server_dir / "data" / "sub").string()}, self);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.reason().find("symbolic link in a directory others can change"), std::string::npos)
      << r.reason();
  EXPECT_FALSE(fs::exists(victim / "sub")) << "created through the link";
  // A dangling link where the grant itself should be: not created through
  // it either (mkdir on a link is EEXIST, which the old code took for done).
  fs::create_directory_symlink(victim / "later", server_dir / "grant");
  auto r2 = prepare_writable({(server_dir / "grant").string()}, self);
  ASSERT_FALSE(r2.ok());
  EXPECT_FALSE(fs::exists(victim / "later"));
  // The same links in a directory only Bastion's uid can change are the
  // operator's: followed.
  const fs::path mine = tmp.path() / "mine";
  fs::create_directory(mine);
  ::chmod(mine.c_str(), 0755);
  fs::create_directory_symlink(victim, mine / "data");
  auto ok = prepare_writable({(mine / "data" / "sub").string()}, self);
  ASSERT_TRUE(ok.ok()) << ok.reason();
  EXPECT_TRUE(fs::is_directory(victim / "sub"));
}

// A level that is a file or a link to one is an error naming the path, and
// a relative or dotted path is made where it normalizes to.
TEST(Contain, PrepareWritableChecksEveryLevelIsADirectory) {
  storage::TempDir tmp;
  std::ofstream(tmp.path() / "file") << "x";
  fs::create_symlink(tmp.path() / "file", tmp.path() / "to_file");
  ::chmod(tmp.path().c_str(), 0700);
  Identity self;
  for (const char* bad : {"file/sub", "to_file/sub"}) {
    auto r = prepare_writable({(tmp.path() / bad).string()}, self);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.reason().find((tmp.path() / bad).string()), std::string::npos) << r.reason();
    EXPECT_FALSE(fs::exists(tmp.path() / "file" / "sub"));
  }
  auto dotted = prepare_writable({(tmp.path() / "a" / ".." / "b" / "." / "c").string()}, self);
  ASSERT_TRUE(dotted.ok()) << dotted.reason();
  EXPECT_TRUE(fs::is_directory(tmp.path() / "b" / "c"));
  EXPECT_FALSE(fs::exists(tmp.path() / "a"));
}

}  // namespace
}  // namespace bastion::sandbox
