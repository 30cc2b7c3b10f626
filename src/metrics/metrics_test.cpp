#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace bastion::metrics {
namespace {

bool has(const std::string& text, std::string_view line) {
  return text.find(line) != std::string::npos;
}

TEST(Metrics, RendersCountersHistogramsAndGauges) {
  Metrics m;  // a private registry, not global()
  m.help("t_total", "Things.");
  m.add("t_total", "k=\"a\"");
  m.add("t_total", "k=\"a\"", 2);
  m.add("t_total", "");
  m.observe("t_seconds", "op=\"x\"", 0.0003);
  m.observe("t_seconds", "op=\"x\"", 10);
  m.gauge("t_up", "Up.", [] { return std::vector<std::pair<std::string, double>>{{"", 1}}; });
  std::string out = m.render();
  EXPECT_TRUE(has(out, "# HELP t_total Things.\n# TYPE t_total counter\n")) << out;
  EXPECT_TRUE(has(out, "t_total{k=\"a\"} 3\n")) << out;
  EXPECT_TRUE(has(out, "t_total 1\n")) << out;
  EXPECT_TRUE(has(out, "# TYPE t_seconds histogram\n")) << out;
  EXPECT_TRUE(has(out, "t_seconds_bucket{op=\"x\",le=\"0.00025\"} 0\n")) << out;
  EXPECT_TRUE(has(out, "t_seconds_bucket{op=\"x\",le=\"0.0005\"} 1\n")) << out;
  EXPECT_TRUE(has(out, "t_seconds_bucket{op=\"x\",le=\"2.5\"} 1\n")) << out;
  EXPECT_TRUE(has(out, "t_seconds_bucket{op=\"x\",le=\"+Inf\"} 2\n")) << out;
  EXPECT_TRUE(has(out, "t_seconds_count{op=\"x\"} 2\n")) << out;
  EXPECT_TRUE(has(out, "# HELP t_up Up.\n# TYPE t_up gauge\nt_up 1\n")) << out;
}

// A series kept by a caller is the one add()/observe() and render() use,
// from any number of threads, however many times it is looked up.
TEST(Metrics, AKeptSeriesIsTheRenderedOne) {
  Metrics m;
  std::atomic<Metrics::Counter*> counter{nullptr};
  std::atomic<Metrics::Histogram*> histogram{nullptr};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        kept(counter, [&] { return &m.counter("k_total", "who=\"x\""); }).add();
        kept(histogram, [&] { return &m.histogram("k_seconds", ""); }).observe(0.002);
      }
    });
  for (auto& t : threads) t.join();
  m.add("k_total", "who=\"x\"", 5);
  EXPECT_EQ(&m.counter("k_total", "who=\"x\""), counter.load());
  std::string out = m.render();
  EXPECT_TRUE(has(out, "k_total{who=\"x\"} 4005\n")) << out;
  EXPECT_TRUE(has(out, "k_seconds_count 4000\n")) << out;
  EXPECT_TRUE(has(out, "k_seconds_bucket{le=\"0.001\"} 0\n")) << out;
  EXPECT_TRUE(has(out, "k_seconds_bucket{le=\"0.0025\"} 4000\n")) << out;
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(label_value("plain"), "plain");
  EXPECT_EQ(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

}  // namespace
}  // namespace bastion::metrics
