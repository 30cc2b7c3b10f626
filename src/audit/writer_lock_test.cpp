// The writer protocol without an AuditLog: registration, the count, and when
// audit.lock is kept or handed over. Two WriterLocks in one process count as
// two writers (OFD locks are per open file description).
#include "audit/writer_lock.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

#include "storage/temp_dir.hpp"

namespace bastion::audit {
namespace {

// Whether another open file description could take audit.lock right now.
bool lock_free(const std::filesystem::path& dir) {
  int fd = ::open((dir / "audit.lock").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  bool got = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);  // releases it again
  return got;
}

TEST(WriterLock, CountsWritersAndKeepsTheLockOnlyWhenAlone) {
  storage::TempDir tmp;
  auto dir = tmp.path();
  WriterLock a(dir);
  EXPECT_TRUE(a.alone_at_start());
  EXPECT_EQ(a.writers(), 1u);
  EXPECT_FALSE(a.holding());
  a.take();
  EXPECT_TRUE(a.holding());
  EXPECT_FALSE(lock_free(dir));
  a.release_if_shared();  // alone: kept
  EXPECT_TRUE(a.holding());
  EXPECT_FALSE(lock_free(dir));
  {
    WriterLock b(dir);
    EXPECT_FALSE(b.alone_at_start());
    EXPECT_EQ(a.writers(), 2u);
    a.release_if_shared();  // someone joined: handed over
    EXPECT_FALSE(a.holding());
    EXPECT_TRUE(lock_free(dir));
    b.take();
    EXPECT_FALSE(lock_free(dir));
    b.leave();
    b.leave();  // idempotent
    EXPECT_EQ(a.writers(), 1u);
  }
  EXPECT_TRUE(lock_free(dir));  // b's destruction closed audit.lock
  EXPECT_EQ(a.writers(), 1u);
}

TEST(WriterLock, ACountLeftByDeadWritersIsReset) {
  storage::TempDir tmp;
  auto dir = tmp.path();
  { WriterLock first(dir); }
  {
    std::fstream f(dir / "audit.writers", std::ios::binary | std::ios::in | std::ios::out);
    std::uint32_t stale = 7;
    f.write(reinterpret_cast<const char*>(&stale), sizeof stale);
  }
  WriterLock a(dir);
  EXPECT_TRUE(a.alone_at_start());
  EXPECT_EQ(a.writers(), 1u);
}

TEST(WriterLock, FailsWithTheFileNameWhenTheDirectoryIsMissing) {
  storage::TempDir tmp;
  try {
    WriterLock a(tmp.path() / "missing");
    FAIL() << "opened a lock in a missing directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("audit.lock"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace bastion::audit
