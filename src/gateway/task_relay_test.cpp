#include "gateway/task_relay.hpp"

#include <gtest/gtest.h>

namespace bastion::gateway {
namespace {

namespace json = boost::json;

protocol::Principal who(std::string client, std::string subject = "s") {
  protocol::Principal p;
  p.client_id = std::move(client);
  p.subject = std::move(subject);
  p.authenticated = true;
  return p;
}

TEST(TaskIds, OpenOnlyForTheCallerTheyWereIssuedTo) {
  TaskIds ids(protocol::StateSealer::random(std::chrono::hours(1)));
  TaskHandle h{"up", "slow_compute", "abc123"};
  const std::string id = ids.wrap(h, who("alice"));
  EXPECT_EQ(id.rfind("bs1.", 0), 0u);
  EXPECT_EQ(id.find("abc123"), std::string::npos) << "the upstream's id is not readable";
  auto back = ids.unwrap(id, who("alice"));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->server, "up");
  EXPECT_EQ(back->tool, "slow_compute");
  EXPECT_EQ(back->upstream_id, "abc123");
  // Another client, the same client under another subject: nothing.
  EXPECT_FALSE(ids.unwrap(id, who("mallory")));
  EXPECT_FALSE(ids.unwrap(id, who("alice", "other")));
  // Altered, truncated, made up, or sealed under another key.
  std::string altered = id;
  altered[10] = altered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ids.unwrap(altered, who("alice")));
  EXPECT_FALSE(ids.unwrap(id.substr(0, id.size() - 2), who("alice")));
  EXPECT_FALSE(ids.unwrap("abc123", who("alice")));
  TaskIds other(protocol::StateSealer::random(std::chrono::hours(1)));
  EXPECT_FALSE(other.unwrap(id, who("alice")));
}

TEST(TaskIds, WhoseTaskItIsIsSealedWithIt) {
  TaskIds ids(protocol::StateSealer::random(std::chrono::hours(1)));
  // An upstream's id, even one shaped like a table id of Bastion's, stays an
  // upstream's: only the gateway marks its own.
  auto relayed = ids.unwrap(ids.wrap({"up", "t", "0123456789abcdef0123456789abcdef"}, who("a")), who("a"));
  ASSERT_TRUE(relayed);
  EXPECT_FALSE(relayed->gateway_owned);
  auto own = ids.unwrap(ids.wrap({"up", "t", "0123456789abcdef0123456789abcdef", true}, who("a")),
                        who("a"));
  ASSERT_TRUE(own);
  EXPECT_TRUE(own->gateway_owned);
  EXPECT_EQ(own->upstream_id, "0123456789abcdef0123456789abcdef");
  EXPECT_FALSE(ids.unwrap(ids.wrap({"up", "t", "x", true}, who("a")), who("b")));
}

TEST(TaskIds, NeverOpenAsARequestState) {
  auto sealer = protocol::StateSealer::random(std::chrono::hours(1));
  TaskIds ids(sealer);
  const std::string id = ids.wrap(TaskHandle{"up", "t", "x"}, who("alice"));
  // Same key, same caller, but the binding of a tools/call's requestState.
  protocol::StateBinding b;
  b.principal = "alice\ns";
  b.method = "tools/call";
  EXPECT_FALSE(sealer->open(id, b).ok()) << "a task id never opens as a requestState";
}

TEST(TaskRelay, CreatedResultsAreCheckedAndRewritten) {
  json::object up = json::parse(R"({"resultType":"task","taskId":"u-1","status":"working",
      "ttlMs":1000,"result":{"content":[]},"requestState":"leak","inputRequests":{}})")
                        .as_object();
  EXPECT_EQ(upstream_task_id(up), "u-1");
  protocol::Outcome out = relay_created(up, "bs1.mine");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.result().at("taskId"), "bs1.mine");
  for (auto k : {"result", "requestState", "inputRequests", "error"})
    EXPECT_FALSE(out.result().contains(k)) << k;
  EXPECT_EQ(out.result().at("ttlMs"), 1000);

  for (auto bad : {R"({"resultType":"task","status":"working"})",
                   R"({"resultType":"task","taskId":"","status":"working"})",
                   R"({"resultType":"task","taskId":7,"status":"working"})",
                   R"({"resultType":"task","taskId":"u","status":"sleeping"})"}) {
    json::object o = json::parse(bad).as_object();
    EXPECT_FALSE(relay_created(o, "bs1.x").ok()) << bad;
  }
  json::object huge{{"taskId", std::string(kMaxUpstreamTaskId + 1, 'a')}, {"status", "working"}};
  EXPECT_TRUE(upstream_task_id(huge).empty());
}

TEST(TaskRelay, GetAnswersMustBeAboutTheTaskAsked) {
  TaskHandle h{"up", "t", "u-1"};
  json::object ok = json::parse(R"({"taskId":"u-1","status":"completed","result":{"content":[]},
      "requestState":"x"})")
                        .as_object();
  protocol::Outcome out = relay_task_get(ok, h, "bs1.mine");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.result().at("taskId"), "bs1.mine");
  EXPECT_FALSE(out.result().contains("requestState"));
  json::object other = json::parse(R"({"taskId":"u-2","status":"completed"})").as_object();
  EXPECT_FALSE(relay_task_get(other, h, "bs1.mine").ok());
  json::object nostatus = json::parse(R"({"taskId":"u-1"})").as_object();
  EXPECT_FALSE(relay_task_get(nostatus, h, "bs1.mine").ok());
}

}  // namespace
}  // namespace bastion::gateway
