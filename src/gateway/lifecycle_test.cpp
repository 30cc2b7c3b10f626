// Upstream lifecycle through the channel factory seam: scripted in-process
// servers instead of processes, so every rule is checked exactly.
#include <gtest/gtest.h>

#include "gateway/test_harness.hpp"

namespace bastion::gateway::testing {
namespace {

FakeScript echo_server() {
  FakeScript s;
  s.tools = {fake_tool("echo"), fake_tool("hold")};
  s.on_call = [](FakeServer&, const json::value&, const std::string&,
                 const json::object& params) -> std::optional<protocol::Outcome> {
    if (params.at("name") == "hold") return std::nullopt;  // never answered
    return json::object{{"content", json::array{json::object{{"type", "text"}, {"text", "echo"}}}}};
  };
  return s;
}

TEST(Lifecycle, LazyServersStartOnFirstUseEagerOnesAtBoot) {
  auto lazy = fake_server("lazy");
  auto eager = fake_server("eager");
  eager.eager = true;
  GatewayHarness h({lazy, eager});
  h.fakes.script("lazy", echo_server());
  h.fakes.script("eager", echo_server());
  h.start();
  EXPECT_TRUE(h.run_until([&] { return h.fakes.starts("eager") == 1; }));
  h.run_for(50ms);
  EXPECT_EQ(h.fakes.starts("lazy"), 0u);
  auto c = h.connect();
  EXPECT_EQ(text_of(h.call(c, "lazy__echo")), "echo");
  EXPECT_EQ(h.fakes.starts("lazy"), 1u);
  EXPECT_EQ(text_of(h.call(c, "lazy__echo")), "echo");
  EXPECT_EQ(h.fakes.starts("lazy"), 1u);  // started once, reused
  EXPECT_EQ(h.fakes.starts("eager"), 1u);
}

TEST(Lifecycle, ACrashFailsTheCallAndTheServerComesBackAfterItsBackoff) {
  auto o = fake_server("a");
  o.restart_backoff = 300ms;
  GatewayHarness h({o});
  h.fakes.script("a", echo_server());
  h.start();
  auto c = h.connect();
  EXPECT_EQ(text_of(h.call(c, "a__echo")), "echo");
  auto held = h.begin(c, "tools/call", json::object{{"name", "a__hold"}});
  h.run_until([&] { return h.fakes.latest("a")->calls_seen() == 2; });
  h.fakes.latest("a")->crash();
  auto r = h.await(c, held);
  EXPECT_EQ(error_code(r), protocol::kUpstreamUnavailable) << json::serialize(r);
  auto u = h.gateway().upstreams().at(0);
  EXPECT_EQ(u->state(), UpstreamState::kBackoff);
  EXPECT_EQ(u->restarts(), 1u);
  // Within the backoff: refused at once, no new start.
  auto early = h.call(c, "a__echo");
  EXPECT_EQ(error_code(early), protocol::kUpstreamUnavailable);
  EXPECT_NE(error_message(early).find("crashed"), std::string::npos) << error_message(early);
  EXPECT_EQ(h.fakes.starts("a"), 1u);
  h.run_for(350ms);
  EXPECT_EQ(text_of(h.call(c, "a__echo")), "echo");
  EXPECT_EQ(h.fakes.starts("a"), 2u);
}

TEST(Lifecycle, AnOperatorStopHoldsAndARestartStartsAtOnceWithoutCountingACrash) {
  auto o = fake_server("a");
  o.restart_backoff = 10s;  // a crash's backoff would outlast the test
  GatewayHarness h({o});
  h.fakes.script("a", echo_server());
  h.start();
  auto c = h.connect();
  EXPECT_EQ(text_of(h.call(c, "a__echo")), "echo");
  auto u = h.gateway().upstreams().at(0);
  // A crash: counted, its reason kept with a time.
  h.fakes.latest("a")->crash();
  EXPECT_TRUE(h.run_until([&] { return u->state() == UpstreamState::kBackoff; }));
  ASSERT_EQ(u->errors().size(), 1u);
  EXPECT_GT(u->errors()[0].at, 0);
  EXPECT_EQ(u->restarts(), 1u);

  // Restart: at once, despite the backoff; not a crash.
  EXPECT_TRUE(h.gateway().restart_server("a"));
  EXPECT_TRUE(h.run_until([&] { return u->state() == UpstreamState::kReady; }));
  EXPECT_EQ(h.fakes.starts("a"), 2u);
  EXPECT_EQ(u->restarts(), 1u);
  EXPECT_EQ(text_of(h.call(c, "a__echo")), "echo");

  // Stop: calls are refused and nothing starts it again.
  EXPECT_TRUE(h.gateway().stop_server("a"));
  EXPECT_TRUE(h.run_until([&] { return u->state() == UpstreamState::kStopped; }));
  EXPECT_EQ(error_code(h.call(c, "a__echo")), protocol::kUpstreamUnavailable);
  h.run_for(100ms);
  EXPECT_EQ(h.fakes.starts("a"), 2u);
  EXPECT_EQ(u->restarts(), 1u);
  // Until an operator restarts it.
  EXPECT_TRUE(h.gateway().restart_server("a"));
  EXPECT_TRUE(h.run_until([&] { return u->state() == UpstreamState::kReady; }));
  EXPECT_EQ(text_of(h.call(c, "a__echo")), "echo");
  EXPECT_FALSE(h.gateway().restart_server("nope"));
  EXPECT_FALSE(h.gateway().stop_server("nope"));
}

TEST(Lifecycle, AnEagerServerRestartsByItselfAfterEachCrash) {
  auto o = fake_server("a");
  o.eager = true;
  o.restart_backoff = 50ms;
  o.restart_backoff_max = 100ms;
  GatewayHarness h({o});
  h.fakes.script("a", echo_server());
  h.start();
  ASSERT_TRUE(h.run_until([&] { return h.fakes.starts("a") == 1; }));
  auto u = h.gateway().upstreams().at(0);
  ASSERT_TRUE(h.run_until([&] { return u->state() == UpstreamState::kReady; }));
  for (std::size_t i = 1; i <= 3; ++i) {
    h.fakes.latest("a")->crash();
    // Nobody calls: the eager server restarts on its own after the backoff.
    EXPECT_TRUE(h.run_until([&] { return h.fakes.starts("a") == i + 1; }, 1000ms)) << i;
    EXPECT_TRUE(h.run_until([&] { return u->state() == UpstreamState::kReady; }));
  }
  EXPECT_EQ(u->restarts(), 3u);
}

TEST(Lifecycle, AServerThatCannotStartReportsWhyAndIsRetriedLater) {
  auto o = fake_server("a");
  GatewayHarness h({o});
  h.fakes.script("a", echo_server());
  h.fakes.fail_starts("a", "no such runtime here");
  h.start();
  auto c = h.connect();
  auto r = h.call(c, "a__echo");
  EXPECT_EQ(error_code(r), protocol::kUpstreamUnavailable);
  EXPECT_NE(error_message(r).find("no such runtime here"), std::string::npos);
  h.fakes.fail_starts("a", "");
  h.run_for(150ms);
  EXPECT_EQ(text_of(h.call(c, "a__echo")), "echo");
}

TEST(Lifecycle, AMissingSecretStopsTheStartBeforeTheFactoryIsAsked) {
  auto o = fake_server("a");
  o.secret_env = {{"API_KEY", "a-key"}};
  GatewayHarness h({o});
  h.fakes.script("a", echo_server());
  h.start();
  auto c = h.connect();
  auto r = h.call(c, "a__echo");
  EXPECT_NE(error_message(r).find("secret 'a-key'"), std::string::npos) << error_message(r);
  EXPECT_EQ(h.fakes.starts("a"), 0u);
}

TEST(Lifecycle, AnIdleServerStopsAndAStartsAgainOnTheNextCall) {
  auto o = fake_server("a");
  o.idle_shutdown = 100ms;
  GatewayHarness h({o});
  h.fakes.script("a", echo_server());
  h.start();
  auto c = h.connect();
  EXPECT_EQ(text_of(h.call(c, "a__echo")), "echo");
  auto u = h.gateway().upstreams().at(0);
  EXPECT_TRUE(h.run_until([&] { return u->state() == UpstreamState::kStopped; }, 1000ms));
  EXPECT_TRUE(h.fakes.latest("a")->closed());
  EXPECT_EQ(u->restarts(), 0u);  // an idle stop is not a crash
  EXPECT_EQ(text_of(h.call(c, "a__echo")), "echo");
  EXPECT_EQ(h.fakes.starts("a"), 2u);
}

TEST(Lifecycle, AServerWithACallInFlightIsNotIdle) {
  auto o = fake_server("a");
  o.idle_shutdown = 60ms;
  GatewayHarness h({o});
  h.fakes.script("a", echo_server());
  h.start();
  auto c = h.connect();
  h.begin(c, "tools/call", json::object{{"name", "a__hold"}});
  h.run_for(300ms);
  EXPECT_EQ(h.gateway().upstreams().at(0)->state(), UpstreamState::kReady);
  EXPECT_FALSE(h.fakes.latest("a")->closed());
}

TEST(Lifecycle, PerSessionInstancesAreCappedAndFreedWithTheirSession) {
  auto o = fake_server("mine");
  o.per_session = true;
  o.max_instances = 2;
  GatewayHarness h({o, fake_server("shared")});
  h.fakes.script("mine", echo_server());
  h.fakes.script("shared", echo_server());
  h.start();
  auto a = h.connect(), b = h.connect(), c = h.connect();
  EXPECT_EQ(text_of(h.call(a, "mine__echo")), "echo");
  EXPECT_EQ(text_of(h.call(b, "mine__echo")), "echo");
  EXPECT_EQ(text_of(h.call(a, "mine__echo")), "echo");
  EXPECT_EQ(h.fakes.starts("mine"), 2u);  // one per session
  auto refused = h.call(c, "mine__echo");
  EXPECT_EQ(error_code(refused), protocol::kUpstreamUnavailable);
  EXPECT_NE(error_message(refused).find("maximum of 2"), std::string::npos);
  // The capped session still reaches the shared server.
  EXPECT_EQ(text_of(h.call(c, "shared__echo")), "echo");
  EXPECT_EQ(h.gateway().running_instances(), 3u);
  // Closing a session stops its instance and frees the slot.
  auto first = h.fakes.all("mine").at(0);
  h.engine().close_session(a.session->id());
  EXPECT_TRUE(h.run_until([&] { return first->closed(); }));
  EXPECT_EQ(text_of(h.call(c, "mine__echo")), "echo");
  EXPECT_EQ(h.fakes.starts("mine"), 3u);
}

TEST(Lifecycle, TheGatewayWideProcessCapHolds) {
  GatewayHarness h({fake_server("a"), fake_server("b"), fake_server("c")}, 2);
  for (auto n : {"a", "b", "c"}) h.fakes.script(n, echo_server());
  h.start();
  auto c = h.connect();
  EXPECT_EQ(text_of(h.call(c, "a__echo")), "echo");
  EXPECT_EQ(text_of(h.call(c, "b__echo")), "echo");
  auto refused = h.call(c, "c__echo");
  EXPECT_NE(error_message(refused).find("maximum of 2 server processes"), std::string::npos)
      << json::serialize(refused);
  EXPECT_EQ(h.fakes.starts("c"), 0u);
}

TEST(Lifecycle, ReloadKeepsUnchangedServersRestartsChangedOnesAndStopsRemovedOnes) {
  GatewayHarness h({fake_server("same"), fake_server("changed"), fake_server("removed")});
  for (auto n : {"same", "changed", "removed", "added"}) h.fakes.script(n, echo_server());
  h.start();
  auto c = h.connect();
  for (auto n : {"same__echo", "changed__echo", "removed__echo"})
    EXPECT_EQ(text_of(h.call(c, n)), "echo");
  auto same_before = h.gateway().upstreams().at(0);
  // A call in flight on the unchanged server survives the reload.
  auto held = h.begin(c, "tools/call", json::object{{"name", "same__hold"}});
  h.run_until([&] { return h.fakes.latest("same")->calls_seen() == 2; });

  auto changed = fake_server("changed");
  changed.fingerprint = "changed v2";
  auto report = h.gateway().reload({fake_server("same"), changed, fake_server("added")});
  EXPECT_EQ(report.unchanged, std::vector<std::string>{"same"});
  EXPECT_EQ(report.changed, std::vector<std::string>{"changed"});
  EXPECT_EQ(report.removed, std::vector<std::string>{"removed"});
  EXPECT_EQ(report.added, std::vector<std::string>{"added"});

  EXPECT_TRUE(h.run_until(
      [&] { return h.fakes.latest("changed")->closed() && h.fakes.latest("removed")->closed(); }));
  EXPECT_EQ(h.gateway().upstreams().at(0), same_before);
  EXPECT_FALSE(h.fakes.latest("same")->closed());
  EXPECT_EQ(h.fakes.starts("same"), 1u);
  EXPECT_FALSE(h.response(c, held));  // still waiting, not failed
  // Clients hear that the lists changed.
  EXPECT_FALSE(h.notifications_to(c, "notifications/tools/list_changed").empty());

  auto names = h.tool_names(c);
  EXPECT_NE(std::find(names.begin(), names.end(), "added__echo"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "removed__echo"), names.end());
  EXPECT_EQ(h.fakes.starts("changed"), 2u);  // the new one, started by the listing
  EXPECT_EQ(h.fakes.starts("same"), 1u);
  auto gone = h.call(c, "removed__echo");
  EXPECT_EQ(error_code(gone), protocol::kInvalidParams);
}

}  // namespace
}  // namespace bastion::gateway::testing
