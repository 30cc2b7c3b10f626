#include "console/figures.hpp"

#include <gtest/gtest.h>

namespace bastion::console {
namespace {

constexpr std::string_view kText = R"(# HELP bastion_mcp_requests_total x
# TYPE bastion_mcp_requests_total counter
bastion_mcp_requests_total{method="tools/call",outcome="ok"} 90
bastion_mcp_requests_total{method="tools/call",outcome="error"} 10
bastion_mcp_request_duration_seconds_bucket{method="tools/call",le="0.001"} 50
bastion_mcp_request_duration_seconds_bucket{method="tools/call",le="0.01"} 95
bastion_mcp_request_duration_seconds_bucket{method="tools/call",le="+Inf"} 100
bastion_mcp_request_duration_seconds_count{method="tools/call"} 100
bastion_pii_findings_total{type="email",action="mask",direction="request"} 3
bastion_pii_findings_total{type="email",action="mask",direction="response"} 2
bastion_pii_findings_total{type="kr_rrn",action="reject",direction="request"} 1
bastion_sessions 4
)";

TEST(Figures, ReadsTotals) {
  auto f = read_figures(kText);
  EXPECT_EQ(f.requests, 100);
  EXPECT_EQ(f.errors, 10);
  EXPECT_EQ(f.sessions, 4);
  EXPECT_EQ(f.pii_by_type["email"], 5);
  EXPECT_EQ(f.pii_by_type["kr_rrn"], 1);
  ASSERT_EQ(f.buckets.size(), 3u);
  EXPECT_DOUBLE_EQ(quantile(f.buckets, {}, 0.5), 0.001);
  EXPECT_DOUBLE_EQ(quantile(f.buckets, {}, 0.95), 0.01);
  EXPECT_DOUBLE_EQ(quantile(f.buckets, {}, 0.99), 0.01);  // above every bound: the largest
  EXPECT_EQ(quantile({}, {}, 0.5), 0);
}

TEST(Figures, HistoryRates) {
  History h(10, 1000);
  Figures a;
  a.requests = 10;
  Figures b;
  b.requests = 30;
  b.errors = 4;
  h.add(0, a);
  h.add(500, b);  // too soon: dropped
  h.add(2000, b);
  auto j = h.to_json();
  auto& s = j["series"].as_array();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_DOUBLE_EQ(s[0].at("rps").as_double(), 10.0);
  EXPECT_DOUBLE_EQ(s[0].at("eps").as_double(), 2.0);
}

TEST(Figures, GarbageIsIgnored) {
  auto f = read_figures("nonsense\n{}\nbastion_sessions\nbastion_sessions x\n\xff\xfe 1\n");
  EXPECT_EQ(f.requests, 0);
}

}  // namespace
}  // namespace bastion::console
