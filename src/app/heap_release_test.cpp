#include "app/heap_release.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

using namespace bastion::app;

namespace {

// Under ASan or TSan the sanitizer's allocator serves malloc: glibc's arenas
// (what malloc_trim returns) hold nothing of the test's.
bool glibc_allocator() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return false;
#else
  return true;
#endif
#else
  return true;
#endif
}

constexpr std::int64_t MiB = std::int64_t{1} << 20;

// A burst on a thread of its own (so in a thread arena, as an I/O thread's
// allocations are): `total` bytes in 1 KiB blocks, touched, then all freed
// but the last, which pins the arena's top so that free() alone gives
// nothing back. Returns the block kept; `peak`: the resident size before
// the free (a trim may come any time after it).
std::unique_ptr<char[]> burst_on_a_thread(std::int64_t total, std::int64_t& peak) {
  std::unique_ptr<char[]> kept;
  std::thread t([&] {
    std::vector<std::unique_ptr<char[]>> blocks;
    for (std::int64_t n = 0; n < total; n += 1024) {
      blocks.emplace_back(new char[1024]);
      for (std::size_t i = 0; i < 1024; i += 256) blocks.back()[i] = 1;
    }
    kept = std::move(blocks.back());
    blocks.pop_back();
    peak = resident_bytes();
  });
  t.join();
  return kept;
}

template <class Pred>
bool within(std::chrono::seconds limit, Pred p) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!p()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace

TEST(HeapRelease, ATrimGivesTheFreePagesOfABurstBack) {
  if (!glibc_allocator()) GTEST_SKIP() << "a sanitizer's allocator serves malloc here";
  std::int64_t before = 0;
  auto kept = burst_on_a_thread(96 * MiB, before);
  ASSERT_GT(before, 96 * MiB);
  auto trims = heap_release_stats().trims;
  HeapTrim t = trim_heap();
  // Most of the burst is resident no more (what is left: the kept block's
  // page, the rest of the test's heap, the binary).
  EXPECT_LT(t.rss_after, before - 64 * MiB);
  EXPECT_EQ(heap_release_stats().trims, trims + 1);
  EXPECT_GE(heap_release_stats().released_bytes, std::uint64_t{64} << 20);
}

TEST(HeapRelease, TrimsOnlyWhenQuietOncePerQuietSpell) {
  HeapReleaseOptions o;  // 5% CPU, 8 MiB
  // The load just ended: trim, whatever the size.
  EXPECT_TRUE(should_trim(0.0, true, 50 * MiB, 50 * MiB, o));
  EXPECT_TRUE(should_trim(0.05, true, 40 * MiB, 50 * MiB, o));
  // Quiet all along: only when grown since the last trim.
  EXPECT_TRUE(should_trim(0.0, false, 100 * MiB, 50 * MiB, o));
  EXPECT_TRUE(should_trim(0.05, false, 58 * MiB, 50 * MiB, o));
  EXPECT_FALSE(should_trim(0.0, false, 57 * MiB, 50 * MiB, o));
  EXPECT_FALSE(should_trim(0.0, false, 40 * MiB, 50 * MiB, o));
  // Busy: a trim would hold an arena's lock against the requests.
  EXPECT_FALSE(should_trim(0.06, true, 100 * MiB, 50 * MiB, o));
  EXPECT_FALSE(should_trim(1.9, false, 100 * MiB, 50 * MiB, o));
}

TEST(HeapRelease, ItsThreadTrimsOnceQuietAndStopsAtOnce) {
  if (!glibc_allocator()) GTEST_SKIP() << "a sanitizer's allocator serves malloc here";
  trim_heap();  // what earlier tests left free: the burst below must grow the heap
  auto trims = heap_release_stats().trims;
  {
    // The burst keeps a CPU busy (over 5% of each 50 ms it spans); the
    // first quiet look after it trims.
    HeapRelease r({std::chrono::milliseconds(50), 0.05, 8 * MiB});
    std::this_thread::sleep_for(std::chrono::milliseconds(120));  // its baseline taken
    std::int64_t before = 0;
    auto kept = burst_on_a_thread(48 * MiB, before);
    // Trimmed once the burst is over (the process is quiet then).
    // (the count moves after malloc_trim returns, the resident size during it)
    EXPECT_TRUE(within(std::chrono::seconds(10), [&] {
      return heap_release_stats().trims > trims && resident_bytes() < before - 32 * MiB;
    })) << "resident " << resident_bytes() << " before " << before << " trims "
        << heap_release_stats().trims - trims;
    // Quiet and not grown again: no further trim (once one that was under
    // way has counted itself).
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto after = heap_release_stats().trims;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(heap_release_stats().trims, after);
  }
  // An hour's interval does not hold up its owner's end.
  auto t0 = std::chrono::steady_clock::now();
  { HeapRelease idle({std::chrono::hours(1), 0.05, 0}); }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(HeapRelease, ItsThreadLeavesABusyProcessAlone) {
  if (!glibc_allocator()) GTEST_SKIP() << "a sanitizer's allocator serves malloc here";
  std::atomic<bool> spin{true};
  std::thread burner([&] {
    while (spin.load(std::memory_order_relaxed)) {
    }
  });
  trim_heap();
  auto trims = heap_release_stats().trims;
  {
    // A spinning thread is up to 100% of a CPU; never quiet at 2% even
    // when other tests share the cores.
    HeapRelease r({std::chrono::milliseconds(200), 0.02, 8 * MiB});
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    std::int64_t peak = 0;
    auto kept = burst_on_a_thread(48 * MiB, peak);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    EXPECT_EQ(heap_release_stats().trims, trims);
  }
  spin = false;
  burner.join();
}
