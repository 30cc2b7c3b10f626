#include "server/tasks.hpp"

#include <gtest/gtest.h>

#include <set>

namespace bastion::server {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

TaskLimits small(std::size_t per_caller, std::size_t total) {
  TaskLimits l;
  l.max_per_caller = per_caller;
  l.max_total = total;
  l.ttl = 60s;
  return l;
}

TEST(TasksExtension, DeclaredOnlyAsAnExtensionObject) {
  EXPECT_TRUE(declares_tasks(
      json::parse(R"({"extensions":{"io.modelcontextprotocol/tasks":{}}})").as_object()));
  EXPECT_FALSE(declares_tasks(json::parse(R"({"tasks":{}})").as_object()));
  EXPECT_FALSE(declares_tasks(
      json::parse(R"({"extensions":{"io.modelcontextprotocol/tasks":true}})").as_object()));
  EXPECT_FALSE(declares_tasks(json::parse(R"({"extensions":[]})").as_object()));
  auto e = tasks_extension_required();
  EXPECT_EQ(e.code, protocol::kMissingRequiredClientCapability);
  EXPECT_TRUE(e.data.at("requiredCapabilities")
                  .at("extensions")
                  .as_object()
                  .contains("io.modelcontextprotocol/tasks"));
}

TEST(TaskTable, IdsAreRandomAndBoundToTheirOwner) {
  TaskTable table;
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    auto t = table.create("alice", "slow_compute");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.value()->id().size(), 32u);  // 128 bits, hex
    EXPECT_TRUE(ids.insert(t.value()->id()).second);
  }
  const std::string id = *ids.begin();
  EXPECT_NE(table.find("alice", id), nullptr);
  // Another caller gets exactly what a made-up id gets.
  EXPECT_EQ(table.find("mallory", id), nullptr);
  EXPECT_EQ(table.find("alice", "00000000000000000000000000000000"), nullptr);
  json::object get{{"taskId", id}};
  EXPECT_FALSE(table.handle("mallory", "tasks/get", get).has_value());
  EXPECT_FALSE(table.handle("mallory", "tasks/cancel", get).has_value());
  EXPECT_FALSE(table.find("alice", id)->cancel_requested());
  EXPECT_TRUE(table.handle("alice", "tasks/get", get).has_value());
}

TEST(TaskTable, AFloodIsBoundedPerCallerAndInTotal) {
  TaskTable table(small(4, 6));
  std::vector<std::shared_ptr<Task>> running;
  for (int i = 0; i < 4; ++i) running.push_back(table.create("alice", "t").value());
  // All four still run: the fifth is refused, not queued.
  auto refused = table.create("alice", "t");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, protocol::kResourceExhausted);
  // Bob is not affected by Alice's flood until the total bound.
  EXPECT_TRUE(table.create("bob", "t").ok());
  EXPECT_TRUE(table.create("bob", "t").ok());
  EXPECT_FALSE(table.create("carol", "t").ok());
  EXPECT_EQ(table.size(), 6u);
  // A finished task makes room: the oldest finished one goes.
  running[1]->complete(json::object{});
  auto next = table.create("alice", "t");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(table.find("alice", running[1]->id()), nullptr);
  EXPECT_NE(table.find("alice", running[0]->id()), nullptr);
  EXPECT_EQ(table.size(), 6u);
}

TEST(TaskTable, ExpiredTasksAreForgottenAndStopped) {
  TaskLimits l = small(8, 8);
  l.ttl = 1000ms;
  TaskTable table(l);
  auto t = table.create("alice", "t").value();
  auto now = std::chrono::system_clock::now();
  EXPECT_NE(table.find("alice", t->id(), now + 500ms), nullptr);
  EXPECT_EQ(table.find("alice", t->id(), now + 2s), nullptr);
  EXPECT_TRUE(t->cancel_requested());  // its worker stops
  EXPECT_EQ(table.size(), 0u);
}

TEST(Task, LifecycleAndShapes) {
  TaskTable table;
  auto t = table.create("alice", "confirm_delete").value();
  json::object created = t->create_result();
  EXPECT_EQ(created.at("resultType"), "task");
  EXPECT_EQ(created.at("status"), "working");
  EXPECT_TRUE(created.at("ttlMs").is_int64());
  EXPECT_TRUE(created.at("pollIntervalMs").is_int64());
  EXPECT_FALSE(created.contains("result") || created.contains("inputRequests") ||
               created.contains("requestState"));

  ASSERT_TRUE(t->ask("a", json::object{{"method", "elicitation/create"}}));
  ASSERT_TRUE(t->ask("b", json::object{{"method", "elicitation/create"}}));
  EXPECT_FALSE(t->ask("a", json::object{}));  // a key is used once over the task's life
  json::object d = t->detailed();
  EXPECT_EQ(d.at("status"), "input_required");
  EXPECT_EQ(d.at("inputRequests").as_object().size(), 2u);

  // Unknown keys and non-object answers are ignored; a partial answer
  // leaves the other request outstanding.
  t->answer(json::parse(R"({"zzz":{"action":"accept"},"b":7,"a":{"action":"accept"}})").as_object());
  d = t->detailed();
  EXPECT_EQ(d.at("status"), "input_required");
  EXPECT_EQ(d.at("inputRequests").as_object().size(), 1u);
  EXPECT_TRUE(d.at("inputRequests").as_object().contains("b"));
  EXPECT_TRUE(t->take_answer("a").has_value());
  EXPECT_FALSE(t->take_answer("a").has_value());  // taken once
  t->answer(json::parse(R"({"b":{"action":"decline"},"a":{"action":"accept"}})").as_object());
  EXPECT_EQ(t->detailed().at("status"), "working");
  EXPECT_FALSE(t->take_answer("a").has_value());  // a was answered already

  ASSERT_TRUE(t->complete(json::object{{"content", json::array{}}}));
  d = t->detailed();
  EXPECT_EQ(d.at("status"), "completed");
  EXPECT_TRUE(d.contains("result"));
  EXPECT_FALSE(d.contains("error"));
  // The first terminal status wins: a late cancel or failure changes nothing.
  EXPECT_FALSE(t->cancel());
  EXPECT_FALSE(t->fail(protocol::internal_error("late")));
  EXPECT_EQ(t->detailed().at("status"), "completed");
}

TEST(Task, FailedCarriesTheErrorAndNoResult) {
  TaskTable table;
  auto t = table.create("alice", "protocol_error_job").value();
  ASSERT_TRUE(t->fail(protocol::internal_error("boom")));
  json::object d = t->detailed();
  EXPECT_EQ(d.at("status"), "failed");
  EXPECT_EQ(d.at("error").at("code"), protocol::kInternalError);
  EXPECT_EQ(d.at("error").at("message"), "boom");
  EXPECT_FALSE(d.contains("result"));
}

TEST(TaskTable, CancelIsAnAcknowledgmentEvenWhenFinished) {
  TaskTable table;
  auto t = table.create("alice", "t").value();
  json::object p{{"taskId", t->id()}};
  auto ack = table.handle("alice", "tasks/cancel", p);
  ASSERT_TRUE(ack && ack->ok());
  EXPECT_TRUE(ack->result().empty());
  EXPECT_TRUE(t->cancel_requested());
  t->cancel();
  ack = table.handle("alice", "tasks/cancel", p);  // terminal: the same ack
  ASSERT_TRUE(ack && ack->ok());
  EXPECT_TRUE(ack->result().empty());
  auto bad = table.handle("alice", "tasks/update", p);  // no inputResponses
  ASSERT_TRUE(bad && !bad->ok());
  EXPECT_EQ(bad->error().code, protocol::kInvalidParams);
}

TEST(Task, TheCancelHookRunsOnceWhenACancellationIsRequested) {
  TaskTable table;
  auto t = table.create("o", "tool").value();
  int ran = 0;
  t->on_cancel([&] { ++ran; });
  EXPECT_EQ(ran, 0);
  t->request_cancel();
  t->request_cancel();  // a second cancel (a race of two tasks/cancel) runs nothing more
  EXPECT_EQ(ran, 1);
  // Set after the cancellation (the worker started late): runs at once.
  auto late = table.create("o", "tool").value();
  late->request_cancel();
  late->on_cancel([&] { ++ran; });
  EXPECT_EQ(ran, 2);
  // The table's expiry and shutdown go through the same hook.
  auto other = table.create("o", "tool").value();
  other->on_cancel([&] { ++ran; });
  table.cancel_all();
  EXPECT_EQ(ran, 3);
}

}  // namespace
}  // namespace bastion::server
