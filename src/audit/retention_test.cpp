// The retention policy over file sizes and ages.
#include "audit/retention.hpp"

#include <gtest/gtest.h>

namespace bastion::audit {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::system_clock;

std::vector<RotatedFile> files(std::initializer_list<std::pair<std::uint64_t, int>> size_and_days,
                               clock::time_point now) {
  std::vector<RotatedFile> out;
  int i = 0;
  for (auto [bytes, days] : size_and_days)
    out.push_back({"audit-" + std::to_string(++i) + ".log", bytes, now - days * 24h});
  return out;
}

TEST(Retention, RemovesTheOldestWhileAnyLimitIsExceeded) {
  auto now = clock::now();
  struct Case {
    const char* name;
    RetentionOptions o;
    std::uint64_t active;
    std::size_t remove;
    const char* reason;
  };
  auto fs = files({{100, 10}, {100, 5}, {100, 1}}, now);
  for (const auto& c : std::vector<Case>{
           {"within every limit", {1000, 30 * 24h, 0}, 50, 0, ""},
           {"size: total 350 > 250", {250, 0s, 0}, 50, 1, "max_total_size"},
           {"size: total 350 > 249", {249, 0s, 0}, 50, 2, "max_total_size"},
           {"size never removes the active file", {10, 0s, 0}, 50, 3, "max_total_size"},
           {"age", {0, 7 * 24h, 0}, 50, 1, "max_age"},
           {"count", {0, 0s, 1}, 50, 2, "keep_files"},
           {"no limits", {0, 0s, 0}, 1 << 30, 0, ""},
       }) {
    auto d = retention_decision(fs, c.active, c.o, now);
    EXPECT_EQ(d.remove, c.remove) << c.name;
    EXPECT_EQ(d.reason, c.reason) << c.name;
  }
}

}  // namespace
}  // namespace bastion::audit
