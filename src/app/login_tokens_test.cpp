#include "app/login_tokens.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace bastion::app {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

// `bastion connect --login` keeps its key and sign-in in a state directory
// (~/.local/state/bastion/connect by default): it and the parents it makes
// are 0700 from their mkdir whatever the umask; a chmod after
// create_directories left the parents to the umask (0777 under umask 0).
TEST(LoginTokens, TheStateDirectoryAndTheParentsItMakesArePrivateUnderAnyUmask) {
  const fs::path top =
      fs::temp_directory_path() /
      ("bastion-login-" + std::to_string(::getpid()) + "-" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  ASSERT_EQ(::mkdir(top.c_str(), 0700), 0);
  LoginTokenOptions o;
  o.mcp_url = "http://127.0.0.1:1/mcp";
  o.auth_base = "http://127.0.0.1:1";
  o.state_dir = top / "state" / "bastion" / "connect";
  const mode_t old_mask = ::umask(0);
  { LoginTokens tokens(o); }  // makes the directory and its key; asks no server
  ::umask(old_mask);
  EXPECT_EQ(mode_of(top / "state"), 0700u);
  EXPECT_EQ(mode_of(top / "state" / "bastion"), 0700u);
  EXPECT_EQ(mode_of(o.state_dir), 0700u);
  EXPECT_EQ(mode_of(o.state_dir / "connect.key"), 0600u);
  fs::remove_all(top);
}

// One that exists, made more open by someone, is closed again.
TEST(LoginTokens, AnExistingStateDirectoryIsClosedToOthers) {
  const fs::path dir =
      fs::temp_directory_path() /
      ("bastion-login-" + std::to_string(::getpid()) + "-open-" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  LoginTokenOptions o;
  o.mcp_url = "http://127.0.0.1:1/mcp";
  o.auth_base = "http://127.0.0.1:1";
  o.state_dir = dir;
  { LoginTokens tokens(o); }
  EXPECT_EQ(mode_of(dir), 0700u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bastion::app
