#include "sandbox/binds.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/temp_dir.hpp"

namespace bastion::sandbox {
namespace {

namespace fs = std::filesystem;

class Binds : public ::testing::Test {
 protected:
  std::string make(const std::string& rel, const std::string& text = "x") {
    fs::path p = tmp_.path() / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  std::string dir(const std::string& rel) {
    fs::path p = tmp_.path() / rel;
    fs::create_directories(p);
    return p.string();
  }
  std::string root() const { return tmp_.path().string(); }
  storage::TempDir tmp_;
};

TEST_F(Binds, APlainScriptBindsOnlyItself) {
  auto script = make("srv/server.py");
  make("srv/notes.txt");
  auto b = plan_binds({"python3", script}, {}, {}, {});
  ASSERT_TRUE(b.ok()) << b.reason();
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ(b->at(0).dest, script);
  EXPECT_FALSE(b->at(0).writable);
  EXPECT_TRUE(b->at(0).implied);
}

TEST_F(Binds, APackageBindsItsRoot) {
  auto py = make("pkg/app/server.py");
  make("pkg/pyproject.toml");
  EXPECT_EQ(package_root(py, {}), root() + "/pkg");
  auto init = make("mod/x/__init__.py");
  EXPECT_EQ(package_root(root() + "/mod/x/main.py", {}), root() + "/mod/x");
  (void)init;
  auto js = make("proj/node_modules/@scope/tool/node_modules/dep/dist/index.js");
  make("proj/node_modules/@scope/tool/package.json");
  // The outermost node_modules: hoisted dependencies live there.
  EXPECT_EQ(package_root(js, {}), root() + "/proj/node_modules");
  auto checkout = make("checkout/dist/index.js");
  make("checkout/package.json");
  EXPECT_EQ(package_root(checkout, {}), root() + "/checkout");
}

TEST_F(Binds, AScriptInAHomeDirectoryBindsOnlyItself) {
  std::string home = dir("home/alice");
  auto script = make("home/alice/tools/server.py");
  make("home/alice/package.json");  // a home that is also an npm prefix
  make("home/alice/.ssh/id_ed25519");
  EXPECT_FALSE(package_root(script, {home}));
  auto b = plan_binds({"python3", script}, {}, {}, BindPolicy{{}, {home}});
  ASSERT_TRUE(b.ok()) << b.reason();
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ(b->at(0).dest, script);
}

TEST_F(Binds, DataDirNextToAPackageIsRefusedNamingThePath) {
  auto script = make("srv/server.py");
  make("srv/__init__.py");
  std::string data = dir("srv/data");
  auto b = plan_binds({"python3", script}, {}, {}, BindPolicy{{data}, {}});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.reason().find(data), std::string::npos) << b.reason();
  EXPECT_NE(b.reason().find(root() + "/srv"), std::string::npos) << b.reason();
}

TEST_F(Binds, DataDirNextToAPlainScriptStaysInvisible) {
  auto script = make("srv/server.py");
  std::string data = dir("srv/data");
  auto b = plan_binds({"python3", script}, {}, {}, BindPolicy{{data}, {}});
  ASSERT_TRUE(b.ok()) << b.reason();
  EXPECT_EQ(b->at(0).dest, script);
}

TEST_F(Binds, GrantsThatContainOrLieInsideProtectedPathsAreRefused) {
  std::string data = dir("state/bastion");
  std::string secret = make("etc/hash");
  BindPolicy policy{{data, secret}, {}};
  struct Case {
    std::vector<std::string> ro, rw;
    bool ok;
  } cases[] = {
      {{root() + "/state"}, {}, false},           // contains data_dir
      {{data + "/security"}, {}, false},          // inside it
      {{}, {root()}, false},                      // contains both
      {{root() + "/etc"}, {}, false},             // contains a secret file
      {{secret}, {}, false},                      // is one
      {{dir("public")}, {dir("scratch")}, true},  // neither
  };
  for (const auto& c : cases) {
    auto b = plan_binds({}, c.ro, c.rw, policy);
    EXPECT_EQ(b.ok(), c.ok) << (c.ro.empty() ? c.rw[0] : c.ro[0]);
    if (!b.ok()) {
      EXPECT_NE(b.reason().find("would expose"), std::string::npos);
    }
  }
}

TEST_F(Binds, SymlinksAreResolvedBeforeTheCheck) {
  std::string data = dir("real/data");
  fs::create_directory_symlink(root() + "/real", root() + "/alias");
  auto b = plan_binds({}, {root() + "/alias"}, {}, BindPolicy{{data}, {}});
  EXPECT_FALSE(b.ok());
}

TEST_F(Binds, DirectoriesOnTheCommandLineAreNotBoundAndSystemFilesAreSkipped) {
  std::string d = dir("some/dir");
  auto b = plan_binds({"/usr/bin/python3", d, "/usr/lib/os-release", "-c", "x"}, {}, {}, {});
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->empty());
}

TEST_F(Binds, ImpliedBindsInsideGrantsAreNotRepeatedAndParentsComeFirst) {
  auto script = make("g/sub/server.py");
  std::string g = root() + "/g";
  auto b = plan_binds({"python3", script}, {g}, {dir("a")}, {});
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ(b->at(0).dest, root() + "/a");
  EXPECT_TRUE(b->at(0).writable);
  EXPECT_EQ(b->at(1).dest, g);
}

TEST_F(Binds, PathsAreBoundAsTheConfigurationSpellsThem) {
  // ${CONFIG_DIR}/../x: the server opens the path with "..", which must
  // resolve inside the sandbox too.
  auto js = make("proj/node_modules/tool/dist/index.js");
  dir("cfg");
  std::string given = root() + "/cfg/../proj/node_modules/tool/dist/index.js";
  std::string grant = root() + "/cfg/../data";
  dir("data");
  auto b = plan_binds({"node", given}, {}, {grant}, {});
  ASSERT_TRUE(b.ok()) << b.reason();
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ(b->at(0).dest, grant);
  EXPECT_EQ(b->at(0).source, root() + "/data");
  EXPECT_EQ(b->at(1).dest, root() + "/cfg/../proj/node_modules");
  EXPECT_EQ(b->at(1).source, root() + "/proj/node_modules");
  (void)js;
}

TEST(PathContains, Lexical) {
  EXPECT_TRUE(path_contains("/a", "/a"));
  EXPECT_TRUE(path_contains("/a", "/a/b"));
  EXPECT_TRUE(path_contains("/a/", "/a/b"));
  EXPECT_FALSE(path_contains("/a", "/ab"));
  EXPECT_FALSE(path_contains("/a/b", "/a"));
  EXPECT_TRUE(path_contains("/", "/anything"));
}

}  // namespace
}  // namespace bastion::sandbox
