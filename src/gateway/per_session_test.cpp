// `instances: per_session` for Modern clients, whose every request is a
// session of its own that ends with it: the instance of a request whose call
// still needs it (a bridged call waiting for the client's retry, a task of
// Bastion's) stays until that call ends, then stops; it counts in
// max_instances meanwhile, and another client's retry or tasks/get never
// reaches it. A scripted Legacy server, Modern clients in process.
#include <gtest/gtest.h>

#include "gateway/test_harness.hpp"

namespace bastion::gateway::testing {
namespace {

constexpr bool kPerSessionTasks = true;  // as_modern: the client declared the tasks extension

UpstreamOptions per_session_fake(std::size_t max_instances = 16) {
  auto o = fake_server("s");
  o.per_session = true;
  o.max_instances = max_instances;
  o.tasks["two"] = TaskMode::kOptional;  // a task only for clients that declared the extension
  return o;
}

protocol::Principal caller_named(std::string client) {
  protocol::Principal p;
  p.client_id = std::move(client);
  p.subject = "s";
  return p;
}

const json::object kPerSessionCall{{"name", "s__two"}, {"arguments", json::object{}}};

// One Modern request, as the HTTP endpoint serves it: a session of its own,
// ended once it is answered.
json::object one_modern_request(
    GatewayHarness& h, const std::string& method, json::object params,
    const protocol::Principal& caller = protocol::Principal::anonymous()) {
  auto c = h.connect_modern(caller);
  auto r = h.request(c, method, std::move(params));
  h.engine().end_ephemeral_session(c.session);
  h.run_for(20ms);  // the stopper pool stops what the session's end let go
  return r;
}

// Answers to two_asks()'s requests in `result` (an input_required result
// or an input_required task), by their keys.
json::object answers_to(const json::value& result) {
  json::object answers;
  for (const auto& kv : result.at("inputRequests").as_object())
    answers[kv.key()] = kv.value().at("method") == "elicitation/create"
                            ? json::object{{"action", "accept"}}
                            : json::object{{"model", "m"}};
  return answers;
}

// The retry of `first` (an input_required) answering both of two_asks()'s requests.
json::object answering_retry(const json::object& first) {
  json::object retry = kPerSessionCall;
  retry["requestState"] = first.at("result").at("requestState");
  retry["inputResponses"] = answers_to(first.at("result"));
  return retry;
}

// One tasks/get of `caller`, each its own request.
json::object task_get(GatewayHarness& h, const std::string& id, const protocol::Principal& caller) {
  return one_modern_request(h, "tasks/get",
                            as_modern(json::object{{"taskId", id}}, kPerSessionTasks), caller);
}

// tasks/get until the task's status is none of `passing` (or an error comes).
json::object poll_past(GatewayHarness& h, const std::string& id, const protocol::Principal& caller,
                       std::initializer_list<std::string_view> passing) {
  json::object last;
  h.run_until([&] {
    last = task_get(h, id, caller);
    auto* r = last.if_contains("result");
    if (!r) return true;
    for (auto s : passing)
      if (r->at("status").as_string() == s) return false;
    return true;
  });
  return last;
}

json::object task_update(GatewayHarness& h, const std::string& id, const json::object& answers,
                         const protocol::Principal& caller) {
  return one_modern_request(
      h, "tasks/update",
      as_modern(json::object{{"taskId", id}, {"inputResponses", answers}}, kPerSessionTasks),
      caller);
}

TEST(PerSession, AModernCallsSecondRoundReachesTheInstanceItsFirstLeftWaiting) {
  GatewayHarness h({per_session_fake()});
  h.fakes.script("s", two_asks());
  h.start();
  auto first = one_modern_request(h, "tools/call", as_modern(kPerSessionCall));
  ASSERT_EQ(first.at("result").at("resultType"), "input_required") << json::serialize(first);
  EXPECT_EQ(h.gateway().running_instances(), 1u) << "the waiting call's instance was stopped";
  auto done = one_modern_request(h, "tools/call", as_modern(answering_retry(first)));
  ASSERT_TRUE(done.contains("result")) << json::serialize(done);
  auto replies = json::parse(text_of(done)).as_object();
  EXPECT_EQ(replies.at("e").at("result").at("action"), "accept");
  EXPECT_EQ(replies.at("s").at("result").at("model"), "m");
  EXPECT_EQ(h.fakes.starts("s"), 1u) << "the retry started an instance of its own";
  // Nothing refers to it any more: it stops.
  EXPECT_TRUE(h.run_until([&] { return h.gateway().running_instances() == 0; }));
}

// Attack: another client holding the requestState (stolen, or replayed
// under its own token) gets an error and no instance; the waiting call is
// untouched and its own client's retry completes it.
TEST(PerSession, AnotherClientsRetryReachesNeitherTheCallNorItsInstance) {
  GatewayHarness h({per_session_fake()});
  h.fakes.script("s", two_asks());
  h.start();
  auto first =
      one_modern_request(h, "tools/call", as_modern(kPerSessionCall), caller_named("alice"));
  ASSERT_EQ(first.at("result").at("resultType"), "input_required") << json::serialize(first);
  auto stolen = one_modern_request(h, "tools/call", as_modern(answering_retry(first)),
                                   caller_named("mallory"));
  EXPECT_EQ(error_code(stolen), -32602) << json::serialize(stolen);
  EXPECT_EQ(h.fakes.starts("s"), 1u);
  auto done =
      one_modern_request(h, "tools/call", as_modern(answering_retry(first)), caller_named("alice"));
  ASSERT_TRUE(done.contains("result")) << json::serialize(done);
  EXPECT_EQ(json::parse(text_of(done)).at("e").at("result").at("action"), "accept");
}

TEST(PerSession, ATaskOfBastionsRunsOnItsInstanceUntilItEnds) {
  GatewayHarness h({per_session_fake()});
  h.fakes.script("s", two_asks());
  h.start();
  auto created = one_modern_request(h, "tools/call", as_modern(kPerSessionCall, kPerSessionTasks),
                                    caller_named("alice"));
  ASSERT_EQ(created.at("result").at("resultType"), "task") << json::serialize(created);
  const std::string id(created.at("result").at("taskId").as_string());
  // Polled by requests of their own, each its own session.
  auto asking = poll_past(h, id, caller_named("alice"), {"working"});
  ASSERT_EQ(asking.at("result").at("status"), "input_required") << json::serialize(asking);
  // Attack: another client's tasks/get and tasks/update find nothing.
  auto foreign = task_get(h, id, caller_named("mallory"));
  EXPECT_EQ(error_code(foreign), -32602) << json::serialize(foreign);
  const json::object answers = answers_to(asking.at("result"));
  auto forged = task_update(h, id, answers, caller_named("mallory"));
  EXPECT_EQ(error_code(forged), -32602) << json::serialize(forged);
  EXPECT_EQ(h.fakes.starts("s"), 1u) << "another client's request started an instance";
  task_update(h, id, answers, caller_named("alice"));
  auto done = poll_past(h, id, caller_named("alice"), {"working", "input_required"});
  ASSERT_EQ(done.at("result").at("status"), "completed") << json::serialize(done);
  auto replies = task_replies(done);
  EXPECT_EQ(replies.at("e").at("result").at("action"), "accept");
  EXPECT_EQ(replies.at("s").at("result").at("model"), "m");
  EXPECT_TRUE(h.run_until([&] { return h.gateway().running_instances() == 0; }));
}

// Attack: a flood of first rounds never retried holds at most max_instances
// instances (the next request is refused, not given another process), and
// each is released once its requestState's wait has passed.
TEST(PerSession, AFloodOfRoundsNeverRetriedHoldsAtMostMaxInstancesUntilTheyExpire) {
  GatewayOptions go;
  go.era_bridge.limits.ttl = 300ms;
  GatewayHarness h({per_session_fake(2)}, 256, {}, go);
  h.fakes.script("s", two_asks());
  h.start();
  for (int i = 0; i < 2; ++i) {
    auto r = one_modern_request(h, "tools/call", as_modern(kPerSessionCall));
    ASSERT_EQ(r.at("result").at("resultType"), "input_required") << json::serialize(r);
  }
  EXPECT_EQ(h.gateway().running_instances(), 2u);
  auto over = one_modern_request(h, "tools/call", as_modern(kPerSessionCall));
  EXPECT_EQ(error_code(over), protocol::kUpstreamUnavailable) << json::serialize(over);
  EXPECT_NE(error_message(over).find("maximum of 2 per-session instances"), std::string::npos)
      << json::serialize(over);
  EXPECT_EQ(h.fakes.starts("s"), 2u);
  // Past the wait the calls end and their instances stop; a new call gets one.
  EXPECT_TRUE(h.run_until([&] { return h.gateway().running_instances() == 0; }, 5000ms));
  auto again = one_modern_request(h, "tools/call", as_modern(kPerSessionCall));
  EXPECT_EQ(again.at("result").at("resultType"), "input_required") << json::serialize(again);
}

// `bastion serve` ends with a round still waiting for its client: the loop
// stops first and the upstream call's coroutine is destroyed unrun with it.
// The instance where that call ran is freed all the same: it never owns the
// calls in flight on it, which own it (a cycle would leak the instance, its
// options and the caller's request; LeakSanitizer saw it in era_bridge's tests).
TEST(PerSession, AnInstanceWhoseRoundWaitsWhenBastionEndsIsFreedWithTheLoop) {
  auto token = std::make_shared<int>(0);
  const std::weak_ptr<int> held = token;
  {
    GatewayOptions go;
    // Copied into the gateway and into every Upstream it makes: the token
    // lives while any of them does.
    go.secrets = [token](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    token.reset();
    GatewayHarness h({per_session_fake()}, 256, {}, std::move(go));
    h.fakes.script("s", two_asks());
    h.start();
    auto first = one_modern_request(h, "tools/call", as_modern(kPerSessionCall));
    ASSERT_EQ(first.at("result").at("resultType"), "input_required") << json::serialize(first);
    ASSERT_EQ(h.gateway().running_instances(), 1u);
    h.end_as_serve_does();
  }
  EXPECT_TRUE(held.expired()) << "an upstream instance outlived the gateway and its loop";
}

}  // namespace
}  // namespace bastion::gateway::testing
