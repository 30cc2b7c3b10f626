// Tasks of Bastion's own around a Legacy server's call, with a scripted
// Legacy server and a Modern client in process: the server's requests become
// the task's input requests and tasks/update answers each by its key only;
// tasks/cancel reaches the server as notifications/cancelled.
#include <gtest/gtest.h>

#include "gateway/test_harness.hpp"

namespace bastion::gateway::testing {
namespace {

constexpr bool kTasks = true;  // as_modern: the client declared the tasks extension

UpstreamOptions server_with_tasks() {
  auto o = fake_server("s");
  o.tasks["two"] = TaskMode::kRequired;
  o.tasks["hold"] = TaskMode::kOptional;
  return o;
}

json::object call_of(std::string tool) {
  return json::object{{"name", "s__" + tool}, {"arguments", json::object{}}};
}

// tasks/get until the task's status is one of `statuses`.
json::object poll(GatewayHarness& h, FakeClient& c, const std::string& id,
                  std::initializer_list<std::string_view> statuses) {
  json::object last;
  h.run_until([&] {
    last = h.request(c, "tasks/get", as_modern(json::object{{"taskId", id}}, kTasks));
    auto* r = last.if_contains("result");
    if (!r) return true;
    for (auto s : statuses)
      if (r->at("status").as_string() == s) return true;
    return false;
  });
  return last;
}

TEST(LegacyTasks, TheServersRequestsAreTheTasksInputRequestsAnsweredByKey) {
  GatewayHarness h({server_with_tasks()});
  h.fakes.script("s", two_asks());
  h.start();
  auto c = h.connect_modern();
  auto created = h.request(c, "tools/call", as_modern(call_of("two"), kTasks));
  ASSERT_EQ(created.at("result").at("resultType"), "task") << json::serialize(created);
  const std::string id(created.at("result").at("taskId").as_string());
  EXPECT_EQ(id.rfind("bs1.", 0), 0u);
  auto asking = poll(h, c, id, {"input_required"});
  ASSERT_TRUE(asking.contains("result")) << json::serialize(asking);
  const auto& reqs = asking.at("result").at("inputRequests").as_object();
  ASSERT_EQ(reqs.size(), 2u) << json::serialize(asking);
  std::string e, s;
  for (const auto& kv : reqs)
    (kv.value().at("method") == "elicitation/create" ? e : s) = std::string(kv.key());
  // One answer, and one for a key never issued: only the first request is
  // answered, the forged answer reaches nobody.
  auto ack = h.request(
      c, "tasks/update",
      as_modern(json::object{{"taskId", id},
                             {"inputResponses",
                              json::object{{e, json::object{{"action", "accept"}}},
                                           {"bastion-99", json::object{{"model", "forged"}}}}}},
                kTasks));
  EXPECT_TRUE(ack.contains("result")) << json::serialize(ack);
  auto half = poll(h, c, id, {"input_required"});
  ASSERT_TRUE(half.contains("result"));
  EXPECT_EQ(half.at("result").at("inputRequests").as_object().size(), 1u);
  EXPECT_TRUE(half.at("result").at("inputRequests").as_object().contains(s));
  h.request(
      c, "tasks/update",
      as_modern(json::object{{"taskId", id},
                             {"inputResponses", json::object{{s, json::object{{"model", "m"}}}}}},
                kTasks));
  auto done = poll(h, c, id, {"completed", "failed", "cancelled"});
  ASSERT_EQ(done.at("result").at("status"), "completed") << json::serialize(done);
  auto replies = task_replies(done);
  EXPECT_EQ(replies.at("e").at("result").at("action"), "accept");
  EXPECT_EQ(replies.at("s").at("result").at("model"), "m");
  EXPECT_EQ(json::serialize(done).find("forged"), std::string::npos);
}

TEST(LegacyTasks, CancelReachesTheServerAndWithoutTheExtensionRequiredIsRefused) {
  GatewayHarness h({server_with_tasks()});
  h.fakes.script("s", two_asks());
  h.start();
  auto c = h.connect_modern();
  auto created = h.request(c, "tools/call", as_modern(call_of("hold"), kTasks));
  ASSERT_EQ(created.at("result").at("resultType"), "task") << json::serialize(created);
  const std::string id(created.at("result").at("taskId").as_string());
  auto server = h.fakes.latest("s");
  ASSERT_TRUE(h.run_until([&] { return server && server->calls_seen() == 1; }));
  auto ack = h.request(c, "tasks/cancel", as_modern(json::object{{"taskId", id}}, kTasks));
  EXPECT_TRUE(ack.contains("result")) << json::serialize(ack);
  EXPECT_TRUE(h.run_until([&] { return server->heard("notifications/cancelled"); }));
  auto after = poll(h, c, id, {"cancelled", "completed", "failed"});
  EXPECT_EQ(after.at("result").at("status"), "cancelled") << json::serialize(after);
  // A client without the extension: -32021 for a required tool.
  auto refused = h.request(c, "tools/call", as_modern(call_of("two")));
  EXPECT_EQ(refused.at("error").at("code"), protocol::kMissingRequiredClientCapability)
      << json::serialize(refused);
}

}  // namespace
}  // namespace bastion::gateway::testing
