#include "app/login_tokens.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace bastion::app {
namespace {

namespace fs = std::filesystem;

// A new directory of ours (0700) under the system's temporary directory.
fs::path fresh_dir(std::string_view tag) {
  const fs::path dir =
      fs::temp_directory_path() /
      ("bastion-login-" + std::to_string(::getpid()) + "-" + std::string(tag) + "-" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  EXPECT_EQ(::mkdir(dir.c_str(), 0700), 0) << dir;
  return dir;
}

LoginTokenOptions options_for(fs::path state_dir) {
  LoginTokenOptions o;
  o.mcp_url = "http://127.0.0.1:1/mcp";
  o.auth_base = "http://127.0.0.1:1";
  o.state_dir = std::move(state_dir);
  return o;
}

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
  const fs::path top = fresh_dir("parents");
  const LoginTokenOptions o = options_for(top / "state" / "bastion" / "connect");
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
  const fs::path dir = fresh_dir("open");
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  { LoginTokens tokens(options_for(dir)); }
  EXPECT_EQ(mode_of(dir), 0700u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bastion::app
