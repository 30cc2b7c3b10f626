// The three runtimes against a described machine (Host), not this one.
#include <errno.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "sandbox/bwrap.hpp"
#include "sandbox/docker.hpp"
#include "sandbox/launch.hpp"
#include "sandbox/process.hpp"
#include "storage/temp_dir.hpp"
#include "sandbox/test_util.hpp"

namespace bastion::sandbox {
namespace {

namespace fs = std::filesystem;

// A machine whose cgroup tree cannot be written (a container, or not root).
class NoCgroups : public CgroupFs {
 public:
  bool exists(const std::string&) const override { return false; }
  int make_dir(const std::string&) override { return EROFS; }
  int remove_dir(const std::string&) override { return ENOENT; }
  int write(const std::string&, const std::string&) override { return EROFS; }
  std::optional<std::string> read(const std::string&) const override { return std::nullopt; }
  std::vector<std::string> list_dirs(const std::string&) const override { return {}; }
  void kill(pid_t) override {}
};

Host machine(bool bwrap, bool userns, uid_t euid = ::geteuid()) {
  static NoCgroups none;
  Host h;
  h.identity.euid = euid;
  h.identity.egid = euid == ::geteuid() ? ::getegid() : euid;
  h.bwrap = bwrap;
  h.user_namespaces = userns;
  h.cgroup_fs = &none;
  return h;
}

using testing::has;

bool anywhere(const std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x.find(s) != std::string::npos) return true;
  return false;
}

class Runtimes : public ::testing::Test {
 protected:
  void SetUp() override {
    script_ = (tmp_.path() / "server.py").string();
    std::ofstream(script_) << "print()";
  }
  LaunchRequest request() const {
    return LaunchRequest{
        "weather", {"python3", script_}, {{"API_KEY", "s3cr3t-value"}}, {"API_KEY"}, ""};
  }
  void finish(LaunchPlan& p) {
    for (int fd : p.owned_fds) ::close(fd);
    if (p.cleanup) p.cleanup();
  }
  storage::TempDir tmp_;
  std::string script_;
};

TEST(BwrapArguments, NoCapabilitiesNoNestedUserNamespacesProcSysReadOnly) {
  SandboxOptions o;
  auto a = bwrap_arguments(o, {Bind{"/src/x", "/x", false, true, "/x"}}, "", 7);
  for (const char* must : {"--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-net",
                           "--die-with-parent", "--new-session"})
    EXPECT_TRUE(has(a, must)) << must;
  auto cap = std::find(a.begin(), a.end(), "--cap-drop");
  ASSERT_NE(cap, a.end());
  EXPECT_EQ(*(cap + 1), "ALL");
  auto sys = std::find(a.begin(), a.end(), "/proc/sys");
  ASSERT_NE(sys, a.end());
  EXPECT_EQ(*(sys - 1), "--ro-bind");
  auto bind = std::find(a.begin(), a.end(), "/src/x");
  ASSERT_NE(bind, a.end());
  EXPECT_EQ(*(bind - 1), "--ro-bind");
  EXPECT_EQ(*(bind + 1), "/x");
  EXPECT_FALSE(has(a, "--setenv"));
  EXPECT_FALSE(has(a, "--clearenv"));
  EXPECT_EQ(a.back(), "--");
  o.network = true;
  EXPECT_FALSE(has(bwrap_arguments(o, {}, "", -1), "--unshare-net"));
  EXPECT_FALSE(has(bwrap_arguments(o, {}, "", -1), "--seccomp"));
}

TEST_F(Runtimes, BwrapKeepsSecretsOffTheCommandLine) {
  SandboxOptions o;
  o.limits.max_pids = 0;
  auto host = machine(true, false);
  auto p = BwrapRuntime(o, host).plan(request());
  ASSERT_TRUE(p.ok()) << p.reason();
  EXPECT_FALSE(anywhere(p->spec.argv, "s3cr3t-value"));
  EXPECT_EQ(p->spec.env.at("API_KEY"), "s3cr3t-value");  // bwrap's own environment
  EXPECT_EQ(p->spec.env.at("HOME"), "/tmp");
  EXPECT_EQ(p->spec.env.at("PATH"), "/usr/local/bin:/usr/bin:/bin");
  EXPECT_TRUE(p->spec.setup.no_new_privs);
  EXPECT_TRUE(has(p->spec.argv, script_));  // the script alone is bound
  EXPECT_FALSE(has(p->spec.argv, tmp_.path().string()));
  ASSERT_EQ(p->spec.setup.access.size(), 1u);
  EXPECT_EQ(p->spec.setup.access[0].path, fs::canonical(script_).string());
  finish(p.value());
}

TEST_F(Runtimes, AsRootBwrapSwitchesToTheServersOwnUser) {
  SandboxOptions o;
  o.limits.max_pids = 0;
  auto host = machine(true, false, 0);
  auto p = BwrapRuntime(o, host).plan(request());
  ASSERT_TRUE(p.ok()) << p.reason();
  ASSERT_TRUE(p->spec.setup.user.has_value());
  EXPECT_GE(p->spec.setup.user->uid, 1000000000u);
  EXPECT_TRUE(anywhere(p->enforced, "this server's own"));
  finish(p.value());
}

TEST_F(Runtimes, WithoutCgroupsPidsUseTheUserNamespaceOrTheServerIsRefused) {
  SandboxOptions o;
  o.limits.max_pids = 64;
  {
    auto host = machine(true, true);
    auto p = BwrapRuntime(o, host).plan(request());
    ASSERT_TRUE(p.ok()) << p.reason();
    EXPECT_EQ(p->spec.setup.nproc_userns, 64u);
    EXPECT_TRUE(anywhere(p->enforced, "RLIMIT_NPROC=64 in the server's own user namespace"));
    EXPECT_FALSE(anywhere(p->enforced, "pids.max"));
    finish(p.value());
  }
  for (auto kind : {RuntimeKind::kBwrap, RuntimeKind::kProcess}) {
    o.runtime = kind;
    auto host = machine(true, false);
    auto p = make_runtime(o, host)->plan(request());
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.reason().find("limits.pids (64) cannot be enforced"), std::string::npos);
  }
}

TEST_F(Runtimes, BwrapRefusesWhenItCannotWork) {
  auto host = machine(false, true);
  auto p = BwrapRuntime({}, host).plan(request());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.reason().find("bubblewrap"), std::string::npos);
}

TEST_F(Runtimes, BwrapRefusesABindThatExposesDataDir) {
  SandboxOptions o;
  o.limits.max_pids = 0;
  std::ofstream(tmp_.path() / "__init__.py") << "";
  o.protected_paths = {(tmp_.path() / "data").string()};
  auto host = machine(true, true);
  auto p = BwrapRuntime(o, host).plan(request());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.reason().find((tmp_.path() / "data").string()), std::string::npos) << p.reason();
}

TEST_F(Runtimes, ProcessGetsAPrivateHomeThatCleanupRemoves) {
  SandboxOptions o;
  o.runtime = RuntimeKind::kProcess;
  o.limits.max_pids = 0;
  auto host = machine(false, false);
  auto p = ProcessRuntime(o, host).plan(request());
  ASSERT_TRUE(p.ok()) << p.reason();
  std::string home = p->spec.env.at("HOME");
  struct stat st;
  ASSERT_EQ(::stat(home.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_NE(home, std::getenv("HOME") ? std::getenv("HOME") : "");
  EXPECT_EQ(p->spec.search_path, "/usr/local/bin:/usr/bin:/bin");
  EXPECT_TRUE(p->spec.setup.no_new_privs);
  EXPECT_TRUE(anywhere(p->enforced, "unconfined"));
  finish(p.value());
  EXPECT_NE(::stat(home.c_str(), &st), 0);
}

TEST_F(Runtimes, DockerNamesVariablesButPassesValuesInTheEnvironment) {
  SandboxOptions o;
  o.runtime = RuntimeKind::kDocker;
  o.image = "img:1";
  auto host = machine(false, false, 1000);
  auto p = DockerRuntime(o, host).plan(request());
  ASSERT_TRUE(p.ok()) << p.reason();
  const auto& a = p->spec.argv;
  EXPECT_FALSE(anywhere(a, "s3cr3t-value"));
  auto e = std::find(a.begin(), a.end(), "API_KEY");
  ASSERT_NE(e, a.end());
  EXPECT_EQ(*(e - 1), "-e");
  EXPECT_EQ(p->spec.env.at("API_KEY"), "s3cr3t-value");
  auto user = std::find(a.begin(), a.end(), "--user");
  ASSERT_NE(user, a.end());
  EXPECT_GE(std::stoul(*(user + 1)), 1000000000ul);  // never root, whoever runs Bastion
  auto cap = std::find(a.begin(), a.end(), "--cap-drop");
  ASSERT_NE(cap, a.end());
  EXPECT_EQ(*(cap + 1), "ALL");
  EXPECT_TRUE(has(a, "no-new-privileges"));
  EXPECT_TRUE(has(a, "--pids-limit"));
  EXPECT_TRUE(has(a, "HOME=/tmp"));
}

TEST_F(Runtimes, DockerRefusesASecretUnderANameTheCliReads) {
  SandboxOptions o;
  o.runtime = RuntimeKind::kDocker;
  o.image = "img:1";
  auto req = request();
  req.env = {{"DOCKER_TOKEN", "s3cr3t-value"}};
  req.secret_vars = {"DOCKER_TOKEN"};
  auto host = machine(false, false, 1000);
  auto p = DockerRuntime(o, host).plan(req);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.reason().find("DOCKER_TOKEN"), std::string::npos);
}

TEST_F(Runtimes, DockerRefusesRootAndProtectedMounts) {
  SandboxOptions o;
  o.runtime = RuntimeKind::kDocker;
  o.image = "img:1";
  o.user = "0:0";
  auto host = machine(false, false, 1000);
  EXPECT_FALSE(DockerRuntime(o, host).plan(request()).ok());
  o.user = "";
  o.read_only = {tmp_.path().string()};
  o.protected_paths = {(tmp_.path() / "data").string()};
  auto p = DockerRuntime(o, host).plan(request());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.reason().find("would expose"), std::string::npos);
}

// The fields of a CSV record, as docker reads a --mount value (quotes
// group, doubled quotes are one).
std::vector<std::string> csv_fields(const std::string& v) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (quoted && v[i] == '"' && i + 1 < v.size() && v[i + 1] == '"') {
      out.back() += '"';
      ++i;
    } else if (v[i] == '"') {
      quoted = !quoted;
    } else if (v[i] == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back() += v[i];
    }
  }
  return out;
}

// A granted directory whose name holds a comma cannot add fields to the
// --mount value (the old value read "src=<dir>/a,src=/etc": docker bound /etc).
TEST_F(Runtimes, DockerMountFieldsCannotBeAddedByAPath) {
  SandboxOptions o;
  o.runtime = RuntimeKind::kDocker;
  o.image = "img:1";
  const fs::path odd = tmp_.path() / "a,src=\"/etc\",readonly=false";
  fs::create_directories(odd);
  ::chmod(tmp_.path().c_str(), 0755);
  ::chmod(odd.c_str(), 0755);
  o.read_only = {odd.string()};
  auto host = machine(false, false, 1000);
  auto p = DockerRuntime(o, host).plan(request());
  ASSERT_TRUE(p.ok()) << p.reason();
  const auto& a = p->spec.argv;
  std::vector<std::vector<std::string>> mounts;
  for (std::size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == "--mount") mounts.push_back(csv_fields(a[i + 1]));
  ASSERT_FALSE(mounts.empty());
  bool found = false;
  for (const auto& m : mounts) {
    std::size_t srcs = 0;
    for (const auto& f : m) srcs += f.starts_with("src=");
    EXPECT_EQ(srcs, 1u) << a.size();
    if (m.size() >= 2 && m[1] == "src=" + odd.string()) {
      found = true;
      EXPECT_EQ(m, (std::vector<std::string>{"type=bind", "src=" + odd.string(),
                                             "dst=" + odd.string(), "readonly"}));
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace bastion::sandbox
