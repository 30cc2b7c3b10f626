// Gives the heap's free pages back to the kernel once the process is quiet,
// so the resident size falls back after a burst.
//
// glibc keeps what a thread frees in that thread's arena: after a flood of
// upstream log lines, a thousand sessions or a restart storm, tens of MiB
// stay resident though nothing uses them (the 10-minute soak: 52 -> 88 MiB,
// bench/results/soak.md), until malloc_trim(3) hands the free pages back.
// malloc_trim walks every free chunk under its arena's lock: ~30 ms for a
// fragmented 74 MiB of 180,000 free chunks on this project's 2-core machine,
// a stall no request should meet. So a thread of its own looks every
// `interval` and trims only when the process used little CPU in it (quiet),
// and then once: on the first quiet look after a busy one (the load just
// ended), or when the resident size grew by `min_growth_bytes` since the
// last trim while quiet. Never on the request path, never under load.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace bastion::app {

struct HeapReleaseOptions {
  std::chrono::milliseconds interval{std::chrono::seconds(10)};
  // Quiet: CPU time used in the interval, all threads, as a share of it.
  double quiet_cpu_share = 0.05;
  std::int64_t min_growth_bytes = std::int64_t{8} << 20;
};

// The process's resident size in bytes (0 when /proc is not mounted).
std::int64_t resident_bytes();

// Trims now, on the calling thread; the resident sizes around it.
struct HeapTrim {
  std::int64_t rss_before = 0;
  std::int64_t rss_after = 0;
};
HeapTrim trim_heap();

// The policy: trim when quiet and either busy at the look before or grown
// since `baseline` (the resident size after the last trim, or the lowest
// seen since).
bool should_trim(double cpu_share, bool was_busy, std::int64_t rss, std::int64_t baseline,
                 const HeapReleaseOptions& o);

// Totals since start, for /metrics.
struct HeapReleaseStats {
  std::uint64_t trims = 0;
  std::uint64_t released_bytes = 0;  // resident bytes fewer right after the trims
};
HeapReleaseStats heap_release_stats();

// Applies should_trim every interval on a thread of its own until destroyed.
class HeapRelease {
 public:
  explicit HeapRelease(HeapReleaseOptions o = {});
  ~HeapRelease();
  HeapRelease(const HeapRelease&) = delete;
  HeapRelease& operator=(const HeapRelease&) = delete;

 private:
  void run();

  HeapReleaseOptions opts_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace bastion::app
