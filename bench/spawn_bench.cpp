// What a lazily started server pays to enter its cgroup v2 leaf: Bastion's
// sandbox::spawn of /bin/true into a fresh leaf, born there with clone3
// (CLONE_INTO_CGROUP) or forked and joined by writing cgroup.procs, with an
// idle gap before each start (a migration right after another one skips
// the RCU grace period that makes the write slow; a server starting after a
// quiet spell does not). Wall time of spawn() until the child has exec'd
// (spawn returns once exec succeeded), not counting the gap or the reap.
#include <benchmark/benchmark.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "sandbox/spawn.hpp"
#include "sandbox/test_util.hpp"

namespace {

using namespace bastion::sandbox;

void BM_SpawnIntoV2Leaf(benchmark::State& state) {
  const bool clone3 = state.range(0) != 0;
  const auto gap = std::chrono::milliseconds(state.range(1));
  std::string mount = testing::cgroup2_mount();
  if (mount.empty() || ::geteuid() != 0) {
    state.SkipWithError("needs root and a cgroup2 mount");
    return;
  }
  std::string dir = mount + "/bastion-spawn-bench-" + std::to_string(::getpid());
  if (::mkdir(dir.c_str(), 0755) != 0) {
    state.SkipWithError("cannot create the leaf");
    return;
  }
  set_clone_into_cgroup(clone3);
  ProcessSpec spec{{"/bin/true"}, {}, "", {}};
  spec.setup.cgroup_procs = {dir + "/cgroup.procs"};
  for (auto _ : state) {
    state.PauseTiming();
    std::this_thread::sleep_for(gap);
    state.ResumeTiming();
    auto h = spawn(spec);
    state.PauseTiming();
    if (!h.ok()) {
      state.SkipWithError(h.reason().c_str());
      break;
    }
    ::close(h->stdin_fd), ::close(h->stdout_fd), ::close(h->stderr_fd);
    wait_process(h->pid);
    state.ResumeTiming();
  }
  set_clone_into_cgroup(true);
  for (int i = 0; i < 100 && ::rmdir(dir.c_str()) != 0; ++i) ::usleep(10'000);
}

// (clone3?, idle gap in ms before each start)
BENCHMARK(BM_SpawnIntoV2Leaf)
    ->ArgNames({"clone3", "gap_ms"})
    ->Args({1, 200})
    ->Args({0, 200})
    ->Args({1, 0})
    ->Args({0, 0})
    ->Iterations(30)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
