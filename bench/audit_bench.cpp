// Cost of one audit record: AuditLog::append of a tool_call event the size
// the audit filter writes (sanitized, chained, written), alone and with a
// second writer on the directory; and the cost of one signed head, which the
// background thread pays at most every sign_interval.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include "audit/format.hpp"
#include "audit/head.hpp"
#include "audit/key.hpp"
#include "audit/log.hpp"
#include "audit/sanitize.hpp"
#include "storage/private_file.hpp"
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

// The same without the disk reserve (reserve_size: 0): what keeping 1 MiB
// allocated ahead of the log costs (fallocate every 512 KiB, and writes into
// preallocated extents).
void BM_AppendNoReserve(benchmark::State& state) {
  bastion::storage::TempDir tmp;
  auto o = options(tmp.path());
  o.reserve_bytes = 0;
  AuditLog log(o);
  std::int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(log.append(tool_call(i++)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AppendNoReserve);

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

// The sanitizer every record passes (sanitize.hpp), on the same event.
void BM_Sanitize(benchmark::State& state) {
  std::int64_t i = 0;
  for (auto _ : state) {
    auto e = tool_call(i++);
    bastion::audit::sanitize_event(e);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sanitize);

// Building the event alone (what BM_Sanitize includes besides the sanitizer).
void BM_BuildEvent(benchmark::State& state) {
  std::int64_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(tool_call(i++));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuildEvent);

// One signed head (Ed25519 over seq, hash, time): what the background thread
// adds per sign_interval, and per record with sync: always.
void BM_SignHead(benchmark::State& state) {
  bastion::storage::TempDir tmp;
  bastion::storage::ensure_private_dir(tmp.path() / "k");
  auto key = bastion::audit::AuditKey::load_or_create(tmp.path() / "k", true);
  bastion::audit::Head h;
  h.hash = std::string(64, 'a');
  h.ts = bastion::audit::now_iso8601();
  h.interval_ms = 200;
  h.key_id = key.key_id();
  for (auto _ : state) {
    ++h.seq;
    h.sig = key.sign(bastion::audit::head_message(h, key.fingerprint()));
    benchmark::DoNotOptimize(bastion::audit::format_head(h));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignHead);

}  // namespace

BENCHMARK_MAIN();
