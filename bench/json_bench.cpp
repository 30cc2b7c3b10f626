// Writing a tools/call response of about 4 KB: what every wire does per
// message. protocol::json_text (numbers in shortest round-trip form) against
// Boost.JSON's serializer (which writes 7.4 as 7.4E0), on the same values,
// in one process, interleaved by Google Benchmark.
#include <benchmark/benchmark.h>

#include <boost/json.hpp>
#include <string>

#include "protocol/json_span.hpp"
#include "protocol/json_text.hpp"
#include "protocol/jsonrpc.hpp"

namespace {

namespace json = boost::json;

// A result like a weather or database tool's: a 4 KB text block with escapes
// and UTF-8, and structured content with integers and floating-point numbers.
json::value four_kb_result(bool numbers) {
  std::string text;
  while (text.size() < 3000)
    text += "Seoul 서울: 7.4 °C, \"light rain\"\nwind 3.2 m/s\tpressure 1013 hPa\n";
  json::array rows;
  for (int i = 0; i < 20; ++i)
    rows.push_back(
        json::object{{"hour", i},
                     {"temp", numbers ? json::value(7.4 + i * 0.1) : json::value(74 + i)},
                     {"city", "Seoul"}});
  json::object result{{"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
                      {"structuredContent", json::object{{"rows", std::move(rows)}}}};
  return bastion::protocol::make_result(json::value(42), std::move(result));
}

void BM_BoostSerialize(benchmark::State& st) {
  json::value v = four_kb_result(st.range(0) != 0);
  st.SetLabel(std::to_string(json::serialize(v).size()) + " bytes");
  for (auto _ : st) benchmark::DoNotOptimize(json::serialize(v));
}

void BM_JsonText(benchmark::State& st) {
  json::value v = four_kb_result(st.range(0) != 0);
  st.SetLabel(std::to_string(bastion::protocol::json_text(v).size()) + " bytes");
  for (auto _ : st) benchmark::DoNotOptimize(bastion::protocol::json_text(v));
}

// The gateway's two ways to answer a relayed tools/call, from the
// upstream's line to the client's text. Rebuild: copy the parsed result into
// a response under the client's id and write it (make_response + json_text).
// Relay (zero-copy): locate the result's text in the line (member_text), keep
// a copy, and splice it after the client's jsonrpc and id.
void BM_Rebuild(benchmark::State& st) {
  json::value v = four_kb_result(st.range(0) != 0);
  const json::object& result = v.get_object().at("result").get_object();
  for (auto _ : st)
    benchmark::DoNotOptimize(
        bastion::protocol::json_text(bastion::protocol::make_result(json::value(7), result)));
}

void BM_Relay(benchmark::State& st) {
  const std::string line = bastion::protocol::json_text(four_kb_result(st.range(0) != 0));
  for (auto _ : st) {
    std::string kept(*bastion::protocol::member_text(line, "result"));
    std::string out = bastion::protocol::json_text(json::object{{"jsonrpc", "2.0"}, {"id", 7}});
    out.pop_back();
    out += ",\"result\":";
    out += kept;
    out += '}';
    benchmark::DoNotOptimize(out);
  }
}

void BM_MemberText(benchmark::State& st) {
  const std::string line = bastion::protocol::json_text(four_kb_result(st.range(0) != 0));
  for (auto _ : st) benchmark::DoNotOptimize(bastion::protocol::member_text(line, "result"));
}

}  // namespace

// Arg 1: the rows carry doubles; arg 0: integers only.
BENCHMARK(BM_BoostSerialize)->Arg(0)->Arg(1);
BENCHMARK(BM_JsonText)->Arg(0)->Arg(1);
BENCHMARK(BM_Rebuild)->Arg(0)->Arg(1);
BENCHMARK(BM_Relay)->Arg(0)->Arg(1);
BENCHMARK(BM_MemberText)->Arg(0)->Arg(1);
BENCHMARK_MAIN();
