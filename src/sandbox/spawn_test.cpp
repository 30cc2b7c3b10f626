#include "sandbox/spawn.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include "sandbox/test_util.hpp"
#include "storage/temp_dir.hpp"

namespace bastion::sandbox {
namespace {

// Runs a shell command; its stdout and wait status.
std::pair<std::string, int> run(ProcessSpec spec) {
  auto h = spawn(spec);
  if (!h.ok()) return {"SPAWN: " + h.reason(), -1};
  ::close(h->stdin_fd);
  ::close(h->stderr_fd);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(h->stdout_fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(h->stdout_fd);
  return {out, wait_process(h->pid)};
}

ProcessSpec sh(const std::string& script) {
  return ProcessSpec{{"sh", "-c", script}, {{"PATH", "/usr/bin:/bin"}}, "", {}};
}

TEST(Spawn, TheChildSeesOnlyStdioAndWhatItIsGiven) {
  // Strays opened without O_CLOEXEC, as Asio does for sockets.
  int stray = ::open("/dev/null", O_RDONLY);
  int given = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(stray, 3);
  auto spec = sh("ls /proc/self/fd");
  spec.setup.inherit_fds = {given};
  auto [out, status] = run(spec);
  EXPECT_EQ(status, 0) << out;
  // ls itself opens one directory descriptor (3, or the next free one).
  std::istringstream in(out);
  std::vector<int> fds;
  int fd;
  while (in >> fd) fds.push_back(fd);
  EXPECT_EQ(std::count(fds.begin(), fds.end(), stray), stray == 3 ? 1 : 0) << out;
  EXPECT_EQ(std::count(fds.begin(), fds.end(), given), 1) << out;
  EXPECT_LE(fds.size(), 5u) << out;  // 0 1 2, given, ls's own
  ::close(stray);
  ::close(given);
}

TEST(Spawn, StartsWhenBastionHoldsMoreDescriptorsThanTheServersLimit) {
  // Under load Bastion holds thousands of connections, so its pipes are
  // numbered above a server's open_files limit; the child used to lower
  // RLIMIT_NOFILE first and then fail to move its pipes (EINVAL), so no
  // upstream could start while many clients were connected.
  std::vector<int> held;
  for (int i = 0; i < 300; ++i) held.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_GT(held.back(), 256);
  auto spec = sh("echo started; ls /proc/self/fd | wc -l");
  spec.setup.rlimits = {{RLIMIT_NOFILE, 64}};
  auto [out, status] = run(spec);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out.substr(0, 8), "started\n") << out;
  for (int fd : held) ::close(fd);
}

TEST(Spawn, EnvironmentIsExactlyTheSpecs) {
  auto spec = sh("env");
  spec.env["ONLY"] = "this";
  auto [out, status] = run(spec);
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("ONLY=this"), std::string::npos);
  EXPECT_EQ(out.find("HOME="), std::string::npos) << out;
}

TEST(Spawn, ProgramsAreFoundInTheGivenSearchPath) {
  auto spec = sh("true");
  spec.argv = {"definitely-not-a-program-xyz"};
  auto [out, status] = run(spec);
  EXPECT_EQ(status, -1);
  EXPECT_NE(out.find("not found in PATH"), std::string::npos) << out;
}

TEST(Spawn, AFailedAccessCheckNamesThePathAndTheUser) {
  storage::TempDir tmp;
  auto secret = tmp.path() / "private";
  std::filesystem::create_directory(secret);
  ::chmod(secret.c_str(), 0700);
  std::ofstream(secret / "server.py") << "x";
  auto spec = sh("true");
  if (::geteuid() == 0)
    spec.setup.user = UserSwitch{65534, 65534};
  else
    GTEST_SKIP() << "needs root to try another user";
  spec.setup.access.push_back({(secret / "server.py").string(), R_OK});
  auto [out, status] = run(spec);
  EXPECT_EQ(status, -1);
  EXPECT_NE(out.find("uid 65534 gid 65534 cannot read " + (secret / "server.py").string()),
            std::string::npos)
      << out;
}

TEST(Spawn, AsRootTheChildRunsAsTheServersUserWithNoGroupsOrPrivileges) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto spec = sh("grep -E '^(Uid|Gid|Groups|CapEff|NoNewPrivs):' /proc/self/status");
  spec.setup.user = UserSwitch{1234567, 1234568};
  spec.setup.no_new_privs = true;
  auto [out, status] = run(spec);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("Uid:\t1234567\t1234567\t1234567\t1234567"), std::string::npos) << out;
  EXPECT_NE(out.find("Gid:\t1234568\t1234568\t1234568\t1234568"), std::string::npos) << out;
  EXPECT_TRUE(out.find("Groups:\t\n") != std::string::npos ||
              out.find("Groups:\t \n") != std::string::npos)
      << out;
  EXPECT_NE(out.find("CapEff:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("NoNewPrivs:\t1"), std::string::npos) << out;
}

TEST(Spawn, RlimitNprocInItsOwnUserNamespaceBoundsOnlyThatTree) {
  // Forks until refused; prints how many it got.
  ProcessSpec spec{{"python3", "-c",
                    "import os, time\n"
                    "kids = []\n"
                    "try:\n"
                    "    for _ in range(100):\n"
                    "        p = os.fork()\n"
                    "        if p == 0:\n"
                    "            time.sleep(5); os._exit(0)\n"
                    "        kids.append(p)\n"
                    "except OSError as e:\n"
                    "    print(len(kids), e.errno)\n"
                    "for k in kids: os.kill(k, 9); os.waitpid(k, 0)\n"},
                   {{"PATH", "/usr/bin:/bin"}},
                   "/",
                   {}};
  spec.search_path = "/usr/bin:/bin";  // not ours: it may lead where that user cannot go
  if (::geteuid() == 0) spec.setup.user = UserSwitch{1234569, 1234569};
  spec.setup.nproc_userns = 8;
  auto [out, status] = run(spec);
  if (out.find("cannot create the user namespace") != std::string::npos)
    GTEST_SKIP() << "user namespaces are not available here: " << out;
  EXPECT_EQ(status, 0) << out;
  // python itself is one of the 8.
  EXPECT_EQ(out, "7 11\n");
}

// The child of a server with its own user namespace, between making the
// namespace and exec, is a copy of Bastion: its keys, the decrypted secrets.
// A process of the server's uid (another instance of it, a daemon one left
// behind) must not be able to trace it or read its memory then. The child
// used to make itself dumpable to write its own maps: both worked.
TEST(Spawn, TheServersUidCannotTraceOrReadTheChildBeforeExec) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the child switches to the server's uid";
  constexpr uid_t kUid = 1234571;
  int hold[2];
  ASSERT_EQ(::pipe2(hold, O_CLOEXEC), 0);
  auto spec = sh("exit 0");
  spec.setup.user = UserSwitch{kUid, kUid};
  spec.setup.no_new_privs = true;
  spec.setup.nproc_userns = 8;
  spec.setup.hold_before_exec_fd = hold[0];
  Result<ProcessHandle> h = Error{"not started"};
  std::thread starter([&] { h = spawn(spec); });  // returns at exec: after the hold
  // The child, once its maps are written (it then waits on `hold`).
  pid_t child = -1;
  for (int i = 0; i < 500 && child < 0; ++i) {
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      std::ifstream st(e.path() / "status");
      long ppid = -1, uid = -1;
      for (std::string line; std::getline(st, line);) {
        std::istringstream v(line.substr(line.find(':') + 1));
        if (line.starts_with("PPid:")) v >> ppid;
        if (line.starts_with("Uid:")) v >> uid;
      }
      if (ppid != ::getpid() || uid != static_cast<long>(kUid)) continue;
      std::ifstream m(e.path() / "uid_map");
      if (std::string map((std::istreambuf_iterator<char>(m)), {}); !map.empty())
        child = std::stoi(e.path().filename().string());
    }
    if (child < 0) ::usleep(10'000);
  }
  ASSERT_GT(child, 0) << "the child never reached its hold";
  // The attacker: the server's uid, outside the child's namespace.
  pid_t attacker = ::fork();
  if (attacker == 0) {
    if (::setresgid(kUid, kUid, kUid) != 0 || ::setresuid(kUid, kUid, kUid) != 0) ::_exit(10);
    int bad = 0;
    if (::ptrace(PTRACE_ATTACH, child, nullptr, nullptr) == 0) {
      bad |= 1;  // let it go on, so the test ends
      ::waitpid(child, nullptr, __WALL);
      ::ptrace(PTRACE_DETACH, child, nullptr, nullptr);
    }
    const std::string mem = "/proc/" + std::to_string(child) + "/mem";
    if (::open(mem.c_str(), O_RDONLY | O_CLOEXEC) >= 0) bad |= 2;
    ::_exit(bad);
  }
  int status = 0;
  ::waitpid(attacker, &status, 0);
  char go = 'x';
  ASSERT_EQ(::write(hold[1], &go, 1), 1);
  starter.join();
  ::close(hold[0]);
  ::close(hold[1]);
  ASSERT_TRUE(h.ok()) << h.reason();
  ::close(h->stdin_fd);
  ::close(h->stdout_fd);
  ::close(h->stderr_fd);
  wait_process(h->pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: PTRACE_ATTACH worked, 2: /proc/PID/mem opened, 10: setup";
}

TEST(Spawn, ACgroupThatCannotBeJoinedStopsTheStart) {
  auto spec = sh("true");
  spec.setup.cgroup_procs = {"/nonexistent/cgroup.procs"};
  auto [out, status] = run(spec);
  EXPECT_EQ(status, -1);
  EXPECT_NE(out.find("cannot join cgroup /nonexistent/cgroup.procs"), std::string::npos) << out;
}

// A fresh v2 leaf, removed (once empty) at the end of the test.
class V2Leaf {
 public:
  explicit V2Leaf(const std::string& mount, const std::string& tag)
      : name_("bastion-spawn-test-" + std::to_string(::getpid()) + "-" + tag),
        dir_(mount + "/" + name_) {
    ok_ = ::mkdir(dir_.c_str(), 0755) == 0;
  }
  ~V2Leaf() {
    for (int i = 0; i < 100 && ::rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++i)
      ::usleep(10'000);
  }
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  std::string procs() const { return dir_ + "/cgroup.procs"; }

 private:
  std::string name_, dir_;
  bool ok_ = false;
};

// The child's cgroup v2 path ("0::/..." in /proc/self/cgroup), as it saw
// it first thing, and its uid.
TEST(Spawn, IsBornInItsCgroupV2LeafOrJoinsItAfterFork) {
  std::string mount = testing::cgroup2_mount();
  if (mount.empty() || ::geteuid() != 0) GTEST_SKIP() << "needs root and a cgroup2 mount";
  for (bool clone3 : {true, false}) {
    V2Leaf leaf(mount, clone3 ? "clone3" : "fork");
    ASSERT_TRUE(leaf.ok()) << std::strerror(errno);
    set_clone_into_cgroup(clone3);
    auto before = children_born_in_cgroup();
    auto spec = sh("grep '^0::' /proc/self/cgroup; id -u");
    spec.setup.cgroup_procs = {leaf.procs()};
    spec.setup.user = UserSwitch{65534, 65534};  // raw setres*id after a raw clone3
    auto [out, status] = run(spec);
    set_clone_into_cgroup(true);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, "0::/" + leaf.name() + "\n65534\n") << (clone3 ? "clone3" : "fork");
    EXPECT_EQ(children_born_in_cgroup() - before, clone3 ? 1u : 0u);
  }
}

TEST(Spawn, StdioDescriptorsCannotBePassedOn) {
  auto spec = sh("true");
  spec.setup.inherit_fds = {1};
  auto [out, status] = run(spec);
  EXPECT_EQ(status, -1);
}

}  // namespace
}  // namespace bastion::sandbox
