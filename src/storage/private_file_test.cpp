#include "storage/private_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <fstream>

#include "storage/temp_dir.hpp"

namespace bastion::storage {
namespace {

namespace fs = std::filesystem;

class PrivateFile : public ::testing::Test {
 protected:
  TempDir tmp_;
  fs::path root_ = tmp_.path();
};

TEST_F(PrivateFile, CreatesPrivateDirsAndRefusesOpenOnes) {
  auto d = root_ / "a" / "b";
  ensure_private_dir(d);
  struct stat st {};
  ASSERT_EQ(::stat(d.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ensure_private_dir(d);  // again: fine
  ::chmod(d.c_str(), 0755);
  try {
    ensure_private_dir(d);
    FAIL() << "an open directory was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("chmod 700"), std::string::npos) << e.what();
  }
}

// Issue 11: `bastion secret set` on a fresh data directory left it 0755
// (the missing parents came from create_directories under umask 022).
TEST_F(PrivateFile, MissingParentsAreCreatedPrivateToo) {
  auto data = root_ / "fresh-data";
  ensure_private_dir(data / "security");
  for (const auto& d : {data, data / "security"}) {
    struct stat st {};
    ASSERT_EQ(::stat(d.c_str(), &st), 0) << d;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << d;
  }
  // An existing parent is left as it is.
  struct stat st {};
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  auto before = st.st_mode & 0777;
  ensure_private_dir(root_ / "x");
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, before);
}

TEST_F(PrivateFile, WritesAtomically0600AndReadsBack) {
  auto f = root_ / "k";
  write_private_file(f, "one");
  write_private_file(f, "two");
  struct stat st {};
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(root_)) ++entries;
  EXPECT_EQ(entries, 1u);  // no temp file left beside it
  std::string why;
  EXPECT_EQ(read_private_file(f, &why).value_or("?"), "two");
}

// A writer killed between creating its temp file and renaming it leaves
// the temp file (perhaps holding a key) behind: the next write of that file
// removes such leftovers once they are older than any write takes, and
// leaves another file's, and a fresh one (a writer still at work), alone.
TEST_F(PrivateFile, AWriteRemovesStaleTempFilesOfThatFileOnly) {
  auto f = root_ / "key";
  auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const char* n : {"key.4242-0-00000000deadbeef.tmp", "key.tmp", "other.1-0-0.tmp"}) {
    std::ofstream(root_ / n) << "stale secret";
    fs::last_write_time(root_ / n, old_time);
  }
  std::ofstream(root_ / "key.77-0-0000000000000001.tmp") << "a writer at work";
  std::ofstream(root_ / "keyring.1-0-0.tmp") << "another file's";
  fs::last_write_time(root_ / "keyring.1-0-0.tmp", old_time);
  write_private_file(f, "new");
  EXPECT_FALSE(fs::exists(root_ / "key.4242-0-00000000deadbeef.tmp"));
  EXPECT_FALSE(fs::exists(root_ / "key.tmp"));
  EXPECT_TRUE(fs::exists(root_ / "other.1-0-0.tmp"));
  EXPECT_TRUE(fs::exists(root_ / "keyring.1-0-0.tmp"));
  EXPECT_TRUE(fs::exists(root_ / "key.77-0-0000000000000001.tmp"));
  std::string why;
  EXPECT_EQ(read_private_file(f, &why).value_or("?"), "new");
}

// Writers of one file at once (replicas sharing a data directory filling
// the same cache file): each write lands whole, none fails, no temp file
// is left. With one shared temp name, a writer removed or renamed
// another's half-written file (torn content, or "cannot rename").
TEST_F(PrivateFile, ConcurrentWritersOfOneFileNeverTearIt) {
  auto f = root_ / "shared";
  const std::string a(1 << 20, 'a'), b(1 << 20, 'b');
  std::atomic<int> failures{0};
  auto writer = [&](const std::string& content) {
    for (int i = 0; i < 20; ++i) {
      try {
        write_private_file(f, content);
      } catch (const std::exception&) {
        ++failures;
      }
    }
  };
  std::thread t1(writer, std::cref(a)), t2(writer, std::cref(b));
  for (int i = 0; i < 200; ++i) {
    std::string why;
    if (auto got = read_private_file(f, &why)) {
      EXPECT_TRUE(*got == a || *got == b) << "torn: " << got->size() << " bytes";
    }
  }
  t1.join();
  t2.join();
  EXPECT_EQ(failures.load(), 0);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(root_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(PrivateFile, FirstLineOfAMountedSecret) {
  std::ofstream(root_ / "s") << "s3cret \r\nsecond line\n";
  EXPECT_EQ(read_first_line(root_ / "s").value_or("?"), "s3cret");
  std::ofstream(root_ / "empty");
  EXPECT_FALSE(read_first_line(root_ / "empty"));
  EXPECT_FALSE(read_first_line(root_ / "missing"));
  EXPECT_EQ(first_line("a b \t\r\nc"), "a b");
  EXPECT_EQ(first_line("only"), "only");
  EXPECT_EQ(first_line(""), "");
}

TEST_F(PrivateFile, RefusesReadableMissingAndSymlinkedFiles) {
  auto f = root_ / "k";
  write_private_file(f, "x");
  ::chmod(f.c_str(), 0644);
  std::string why;
  EXPECT_FALSE(read_private_file(f, &why));
  EXPECT_NE(why.find("mode 0644"), std::string::npos) << why;
  EXPECT_NE(why.find("chmod 600"), std::string::npos) << why;
  EXPECT_FALSE(read_private_file(root_ / "missing", &why));
  EXPECT_NE(why.find("cannot open"), std::string::npos);
  ::chmod(f.c_str(), 0600);
  fs::create_symlink(f, root_ / "link");
  EXPECT_FALSE(read_private_file(root_ / "link", &why));
  EXPECT_FALSE(read_private_file(root_, &why));
}

}  // namespace
}  // namespace bastion::storage
