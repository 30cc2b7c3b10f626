#include "sandbox/rlimits.hpp"

#include <gtest/gtest.h>

namespace bastion::sandbox {
namespace {

TEST(Rlimits, MemoryFallsBackToRlimitDataOnlyWithoutACgroup) {
  Limits l;
  auto with = rlimits_for(l, true);
  auto without = rlimits_for(l, false);
  auto has = [](const RlimitPlan& p, int r) {
    for (auto& [k, v] : p.values)
      if (k == r) return true;
    return false;
  };
  EXPECT_TRUE(has(with, RLIMIT_CORE));
  EXPECT_TRUE(has(with, RLIMIT_NOFILE));
  EXPECT_FALSE(has(with, RLIMIT_DATA));
  EXPECT_TRUE(has(without, RLIMIT_DATA));
  EXPECT_FALSE(has(without, RLIMIT_AS));  // V8 reserves far more than it uses
}

TEST(Rlimits, PidsAreBoundedOrRefusedNeverSkipped) {
  struct Case {
    std::uint64_t pids;
    bool cgroup, userns;
    bool ok;
    PidsBound bound;
  } cases[] = {
      {0, false, false, true, PidsBound::kNone},
      {64, true, false, true, PidsBound::kCgroup},
      {64, true, true, true, PidsBound::kCgroup},
      {64, false, true, true, PidsBound::kUserNamespace},
      {64, false, false, false, PidsBound::kNone},
  };
  for (const auto& c : cases) {
    auto r = choose_pids_bound(c.pids, c.cgroup, c.userns, "cannot create cgroup x: EACCES");
    ASSERT_EQ(r.ok(), c.ok);
    if (r.ok()) {
      EXPECT_EQ(r.value(), c.bound);
    } else {
      EXPECT_NE(r.reason().find("limits.pids (64) cannot be enforced"), std::string::npos);
      EXPECT_NE(r.reason().find("EACCES"), std::string::npos);
      EXPECT_NE(r.reason().find("pids: 0"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace bastion::sandbox
