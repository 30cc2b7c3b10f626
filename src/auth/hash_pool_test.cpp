#include "auth/hash_pool.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

namespace bastion::auth {
namespace {

TEST(HashPool, RunsJobsOffTheCallersThreadAtLowerPriority) {
  HashPool pool(HashPoolOptions{.threads = 1, .queue = 4});
  std::promise<std::pair<std::thread::id, int>> where;
  int mine = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
  ASSERT_EQ(
      pool.submit("a",
                  [&] {
                    where.set_value(
                        {std::this_thread::get_id(),
                         ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)))});
                  }),
      HashPool::Admit::kAdmitted);
  auto [id, prio] = where.get_future().get();
  EXPECT_NE(id, std::this_thread::get_id());
  EXPECT_GT(prio, mine) << "hashing threads yield to the I/O threads";
}

TEST(HashPool, BoundedQueueAndPerSourceShare) {
  HashPool pool(HashPoolOptions{.threads = 1, .queue = 3, .per_source = 2});
  std::promise<void> gate;
  auto open = gate.get_future().share();
  std::atomic<int> ran{0};
  auto blocked = [&] {
    open.wait();
    ++ran;
  };
  EXPECT_EQ(pool.submit("a", blocked), HashPool::Admit::kAdmitted);
  EXPECT_EQ(pool.submit("a", blocked), HashPool::Admit::kAdmitted);
  EXPECT_EQ(pool.submit("a", blocked), HashPool::Admit::kSourceBusy) << "two per source";
  EXPECT_EQ(pool.submit("b", blocked), HashPool::Admit::kAdmitted);
  EXPECT_EQ(pool.submit("c", blocked), HashPool::Admit::kFull) << "three in all";
  EXPECT_EQ(pool.pending(), 3u);
  gate.set_value();
  for (int i = 0; i < 500 && pool.pending() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(ran, 3);
  EXPECT_EQ(pool.pending(), 0u);
  EXPECT_EQ(pool.submit("a", [] {}), HashPool::Admit::kAdmitted) << "room again";
}

TEST(HashPool, InlineWithoutThreads) {
  HashPool pool(HashPoolOptions{.threads = 0});
  std::thread::id where;
  pool.submit("a", [&] { where = std::this_thread::get_id(); });
  EXPECT_EQ(where, std::this_thread::get_id());
  EXPECT_EQ(pool.pending(), 0u);
}

}  // namespace
}  // namespace bastion::auth
