#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

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

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(label_value("plain"), "plain");
  EXPECT_EQ(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

}  // namespace
}  // namespace bastion::metrics
