// The multi-process writer protocol of an audit directory (see writer_lock.hpp).
#include "audit/writer_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace bastion::audit {

// audit.writers, mapped shared by every writer: how many are open. While
// it is 1 the writer keeps audit.lock and appends without a syscall more; a
// newcomer raises it and waits for the lock, which the incumbent lets go at
// its next append or background tick.
struct WriterLock::Shared {
  std::atomic<std::uint32_t> writers;
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "shared across processes");

namespace {

constexpr off_t kPresenceByte = 0;  // read-locked by every open writer
constexpr off_t kJoinByte = 1;      // write-locked while one joins or leaves

// fcntl OFD locks on one byte: per open file description like flock, so two
// logs in one process count as two writers.
bool range_lock(int fd, short type, off_t byte, bool wait) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  while (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0)
    if (errno != EINTR) return false;
  return true;
}

bool range_locked_by_others(int fd, off_t byte) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  return ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

}  // namespace

WriterLock::WriterLock(const std::filesystem::path& dir) : dir_(dir) {
  auto open_lock = [&](std::string_view name) {
    auto path = dir_ / name;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      throw std::runtime_error(
          fmt::format("audit: cannot open {}: {}", path.string(), std::strerror(errno)));
    return fd;
  };
  auto fail = [&](std::string_view what) {
    return std::runtime_error(fmt::format("audit: cannot {} {}/audit.writers: {}", what,
                                          dir_.string(), std::strerror(errno)));
  };
  try {
    lock_fd_ = open_lock("audit.lock");
    writers_fd_ = open_lock("audit.writers");
    struct stat st {};
    if (::fstat(writers_fd_, &st) != 0) throw fail("stat");
    if (static_cast<std::size_t>(st.st_size) < sizeof(Shared) &&
        ::ftruncate(writers_fd_, sizeof(Shared)) != 0)
      throw fail("size");
    void* m = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED, writers_fd_, 0);
    if (m == MAP_FAILED) throw fail("map");
    shared_ = static_cast<Shared*>(m);  // a zero-filled file is a valid count of 0
    // Joining is serialised (byte 1): each writer holds a read lock on byte 0
    // while it lives, so "no other lock on byte 0" means no other writer, and
    // a count left by writers that died (kill -9) can be reset.
    if (!range_lock(writers_fd_, F_WRLCK, kJoinByte, true)) throw fail("lock");
    bool present = range_lock(writers_fd_, F_RDLCK, kPresenceByte, true);
    alone_ = present && !range_locked_by_others(writers_fd_, kPresenceByte);
    if (alone_) shared_->writers.store(0, std::memory_order_release);
    if (present) {
      shared_->writers.fetch_add(1, std::memory_order_acq_rel);
      registered_ = true;
    }
    range_lock(writers_fd_, F_UNLCK, kJoinByte, true);
    if (!present) throw fail("lock");
  } catch (...) {
    if (shared_) ::munmap(shared_, sizeof(Shared));
    for (int fd : {lock_fd_, writers_fd_})
      if (fd >= 0) ::close(fd);
    throw;
  }
}

WriterLock::~WriterLock() {
  leave();
  if (shared_) ::munmap(shared_, sizeof(Shared));
  if (lock_fd_ >= 0) ::close(lock_fd_);  // lets the next writer go on
  if (writers_fd_ >= 0) ::close(writers_fd_);
}

void WriterLock::take() {
  while (::flock(lock_fd_, LOCK_EX) != 0 && errno == EINTR) {
  }
  holding_ = true;
}

void WriterLock::release_if_shared() {
  // Keep the lock while we are the only writer; hand it over otherwise.
  if (holding_ && shared_->writers.load(std::memory_order_acquire) > 1) {
    ::flock(lock_fd_, LOCK_UN);
    holding_ = false;
  }
}

void WriterLock::leave() {
  if (!registered_) return;
  range_lock(writers_fd_, F_WRLCK, kJoinByte, true);
  shared_->writers.fetch_sub(1, std::memory_order_acq_rel);
  range_lock(writers_fd_, F_UNLCK, kPresenceByte, true);
  range_lock(writers_fd_, F_UNLCK, kJoinByte, true);
  registered_ = false;
}

std::uint32_t WriterLock::writers() const {
  return shared_->writers.load(std::memory_order_acquire);
}

}  // namespace bastion::audit
