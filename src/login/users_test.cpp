#include "login/users.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "storage/temp_dir.hpp"

namespace bastion::login {
namespace {

TEST(Users, AddVerifyChangeRemove) {
  storage::TempDir tmp;
  UserStore users(tmp.path() / "users");
  ASSERT_TRUE(users.add("alice", "correct horse battery").ok());
  auto again = users.add("alice", "another password");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.reason(), "user alice exists");
  auto u = users.verify("alice", "correct horse battery");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->name, "alice");
  EXPECT_EQ(u->password_hash.rfind("$argon2id$", 0), 0u);
  EXPECT_FALSE(users.verify("alice", "wrong password"));
  EXPECT_FALSE(users.verify("Alice", "correct horse battery"));  // case-sensitive
  EXPECT_FALSE(users.verify("bob", "correct horse battery"));

  std::int64_t before = users.find("alice")->password_changed;
  ASSERT_TRUE(users.set_password("alice", "a new long password").ok());
  EXPECT_GT(users.find("alice")->password_changed, before);
  EXPECT_FALSE(users.verify("alice", "correct horse battery"));
  EXPECT_TRUE(users.verify("alice", "a new long password"));
  EXPECT_EQ(users.set_password("bob", "whatever123").reason(), "no user bob");

  ASSERT_TRUE(users.add("bob@example.com", "bobs password").ok());
  auto all = users.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alice");
  EXPECT_TRUE(users.remove("alice"));
  EXPECT_FALSE(users.remove("alice"));
  EXPECT_FALSE(users.verify("alice", "a new long password"));
}

TEST(Users, RefusesBadNamesAndPasswords) {
  storage::TempDir tmp;
  UserStore users(tmp.path() / "users");
  for (const char* bad : {"", "corp|alice", "a b", "../x", "é", "<script>"})
    EXPECT_FALSE(users.add(bad, "long enough password").ok()) << bad;
  EXPECT_FALSE(users.add(std::string(65, 'a'), "long enough password").ok());
  EXPECT_FALSE(users.add("short", "1234567").ok());
  EXPECT_FALSE(users.add("long", std::string(1025, 'x')).ok());
  EXPECT_TRUE(users.list().empty());
  EXPECT_FALSE(users.find("corp|alice"));
}

TEST(Users, NothingOnDiskNamesOrRevealsThePassword) {
  storage::TempDir tmp;
  UserStore users(tmp.path() / "users");
  ASSERT_TRUE(users.add("alice", "correct horse battery").ok());
  for (const auto& e : std::filesystem::directory_iterator(tmp.path() / "users")) {
    if (e.path().filename() == ".lock") continue;
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::ifstream in(e.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("correct horse"), std::string::npos);
  }
}

TEST(Users, ConcurrentAddsOfOneNameHaveOneWinner) {
  storage::TempDir tmp;
  std::atomic<int> wins{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, i] {
      UserStore users(tmp.path() / "users");  // as separate processes would
      if (users.add("carol", "password number " + std::to_string(i)).ok()) ++wins;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(wins, 1);
}

}  // namespace
}  // namespace bastion::login
