#include "app/heap_release.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

namespace bastion::app {

namespace {

std::atomic<std::uint64_t> g_trims{0};
std::atomic<std::uint64_t> g_released{0};

// CPU time the process used so far, all threads.
std::chrono::nanoseconds process_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

std::int64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "re");
  if (!f) return 0;
  long long size = 0, resident = 0;
  int n = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<std::int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

HeapTrim trim_heap() {
  HeapTrim t;
  t.rss_before = resident_bytes();
  malloc_trim(0);
  t.rss_after = resident_bytes();
  ++g_trims;
  if (t.rss_before > t.rss_after)
    g_released += static_cast<std::uint64_t>(t.rss_before - t.rss_after);
  return t;
}

bool should_trim(double cpu_share, bool was_busy, std::int64_t rss, std::int64_t baseline,
                 const HeapReleaseOptions& o) {
  if (cpu_share > o.quiet_cpu_share) return false;
  return was_busy || rss - baseline >= o.min_growth_bytes;
}

HeapReleaseStats heap_release_stats() { return {g_trims.load(), g_released.load()}; }

HeapRelease::HeapRelease(HeapReleaseOptions o) : opts_(o), thread_([this] { run(); }) {}

HeapRelease::~HeapRelease() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void HeapRelease::run() {
  std::int64_t baseline = resident_bytes();
  auto cpu = process_cpu_time();
  auto at = std::chrono::steady_clock::now();
  bool was_busy = false;
  std::unique_lock lk(mu_);
  while (!wake_.wait_for(lk, opts_.interval, [this] { return stop_; })) {
    lk.unlock();
    auto cpu_now = process_cpu_time();
    auto at_now = std::chrono::steady_clock::now();
    double share = std::chrono::duration<double>(cpu_now - cpu).count() /
                   std::max(1e-9, std::chrono::duration<double>(at_now - at).count());
    cpu = cpu_now;
    at = at_now;
    std::int64_t rss = resident_bytes();
    baseline = std::min(baseline, rss);
    if (should_trim(share, was_busy, rss, baseline, opts_)) {
      HeapTrim t = trim_heap();
      baseline = t.rss_after;
      spdlog::debug("heap: quiet ({:.1f}% CPU), resident {} -> {} KiB", share * 100,
                    t.rss_before >> 10, t.rss_after >> 10);
    }
    was_busy = share > opts_.quiet_cpu_share;
    lk.lock();
  }
}

}  // namespace bastion::app
