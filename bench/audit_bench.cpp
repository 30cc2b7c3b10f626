// Cost of one audit record: AuditLog::append of a tool_call event the size
// the audit filter writes, alone and with a second writer on the directory.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include "audit/log.hpp"
#include "storage/temp_dir.hpp"

namespace {

using bastion::audit::AuditLog;
using bastion::audit::AuditOptions;

boost::json::object tool_call(std::int64_t i) {
  return {{"event_type", "tool_call"},
          {"tool_name", "echo"},
          {"server", "testkit"},
          {"user_id", "mcp-client"},
          {"client_id", "mcp-client"},
          {"session_id", "0123456789abcdef"},
          {"request_id", std::to_string(i)},
          {"contains_pii", false},
          {"action_taken", "none"},
          {"parameter_count", 1},
          {"outcome", "ok"},
          {"latency_us", 42}};
}

AuditOptions options(const std::filesystem::path& dir) {
  AuditOptions o;
  o.dir = dir / "audit";
  return o;  // defaults: sync interval, checkpoint every 1000, 64 MiB files
}

void BM_Append(benchmark::State& state) {
  bastion::storage::TempDir tmp;
  AuditLog log(options(tmp.path()));
  std::int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(log.append(tool_call(i++)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Append);

// Two logs on one directory (as two processes would be): each append first
// reads the record the other one wrote.
void BM_AppendTwoWriters(benchmark::State& state) {
  bastion::storage::TempDir tmp;
  AuditLog a(options(tmp.path()));
  AuditLog b(options(tmp.path()));
  std::int64_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(((i & 1) ? a : b).append(tool_call(i)));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendTwoWriters);

}  // namespace

BENCHMARK_MAIN();
