#include "auth/failure_audit.hpp"

#include <gtest/gtest.h>

#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using testing::FakeClock;
namespace json = boost::json;

json::object denied(std::string error = "invalid_client") {
  return json::object{{"event_type", "token_denied"}, {"error", error}, {"status", 401}};
}

TEST(FailureAudit, FirstAtOnceThenOneCountPerInterval) {
  FakeClock clock;
  std::vector<json::object> log;
  FailureAudit fa(std::chrono::seconds(60), 4096, clock);
  fa.set_sink([&](json::object e) {
    log.push_back(std::move(e));
    return true;
  });
  for (int i = 0; i < 1000; ++i)
    fa.record(denied(i % 10 ? "invalid_client" : "slow_down"), "c", "1.2.3.4");
  ASSERT_EQ(log.size(), 1u) << "the first failure is recorded at once, the rest counted";
  EXPECT_EQ(log[0].at("count"), 1);
  EXPECT_EQ(log[0].at("source"), "1.2.3.4");
  fa.flush();
  EXPECT_EQ(log.size(), 1u) << "the interval has not ended";
  clock.advance(60);
  fa.flush();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].at("event_type"), "token_denied");
  EXPECT_EQ(log[1].at("aggregated"), true);
  EXPECT_EQ(log[1].at("count"), 999);
  EXPECT_EQ(log[1].at("client_id"), "c");
  EXPECT_EQ(log[1].at("errors"),
            (json::array{json::object{{"error", "invalid_client"}, {"count", 900}},
                         json::object{{"error", "slow_down"}, {"count", 99}}}));
  EXPECT_EQ(fa.open_keys(), 0u);
  // The next failure opens a new interval with a record of its own.
  fa.record(denied(), "c", "1.2.3.4");
  EXPECT_EQ(log.size(), 3u);
}

TEST(FailureAudit, OneWindowPerClientAndSourceAndABoundOnKeys) {
  FakeClock clock;
  std::vector<json::object> log;
  FailureAudit fa(std::chrono::seconds(60), 10, clock);
  fa.set_sink([&](json::object e) {
    log.push_back(std::move(e));
    return true;
  });
  fa.record(denied(), "a", "1.1.1.1");
  fa.record(denied(), "b", "1.1.1.1");
  fa.record(denied(), "a", "2.2.2.2");
  EXPECT_EQ(log.size(), 3u);
  // An attacker with many sources: past 10 keys, one shared record.
  for (int i = 0; i < 10000; ++i) fa.record(denied(), "", "10.0." + std::to_string(i));
  EXPECT_LE(log.size(), 3u + 8u);
  EXPECT_LE(fa.open_keys(), 11u);
  fa.flush(true);
  std::uint64_t total = 0;
  for (const auto& e : log) total += e.at("count").to_number<std::uint64_t>();
  EXPECT_EQ(total, 10003u) << "every failure is counted somewhere";
}

// A count the sink could not write (audit disk full) is kept and written
// with the next flush that succeeds, never dropped.
TEST(FailureAudit, CountsThatCannotBeWrittenAreKept) {
  FakeClock clock;
  std::vector<json::object> log;
  bool writable = true;
  FailureAudit fa(std::chrono::seconds(60), 4096, clock);
  fa.set_sink([&](json::object e) {
    if (!writable) return false;
    log.push_back(std::move(e));
    return true;
  });
  for (int i = 0; i < 10; ++i) fa.record(denied(), "c", "1.2.3.4");
  ASSERT_EQ(log.size(), 1u);
  writable = false;
  clock.advance(60);
  fa.flush();
  EXPECT_EQ(log.size(), 1u);
  EXPECT_EQ(fa.open_keys(), 1u) << "the count was dropped";
  writable = true;
  clock.advance(60);
  fa.flush();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].at("count"), 9);
}

}  // namespace
}  // namespace bastion::auth
