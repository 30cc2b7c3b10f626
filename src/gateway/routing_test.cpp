// Per-call routing of what an upstream sends on its own (server-to-client
// requests, log lines, resource updates), with scripted servers and
// in-process client sessions.
#include <gtest/gtest.h>

#include <algorithm>

#include "gateway/test_harness.hpp"

namespace bastion::gateway::testing {
namespace {

// Tools that make the server speak first. Arguments: {"related": true} sends
// it on the call's own response stream, as a Streamable HTTP server does.
FakeScript talker() {
  FakeScript s;
  s.tools = {fake_tool("sample"), fake_tool("elicit"), fake_tool("roots"), fake_tool("log"),
             fake_tool("hold")};
  s.on_call = [](FakeServer& srv, const json::value& id, const std::string&,
                 const json::object& params) -> std::optional<protocol::Outcome> {
    std::string name(params.at("name").as_string());
    json::object args;
    if (auto* a = params.if_contains("arguments"); a && a->is_object()) args = a->as_object();
    std::optional<std::int64_t> related;
    if (args.contains("related")) related = id.as_int64();
    auto answer = [&srv, id](const json::object& reply) {
      srv.reply(id, text_result(json::serialize(reply)));
    };
    std::string ask_id = name + "-" + json::serialize(id);
    if (name == "sample") {
      srv.ask(ask_id, "sampling/createMessage",
              json::object{{"messages", json::array{}}, {"maxTokens", 5}}, answer, related);
    } else if (name == "elicit") {
      json::object p{{"message", "password?"}};
      if (args.contains("mode")) p["mode"] = args.at("mode");
      srv.ask(ask_id, "elicitation/create", p, answer, related);
    } else if (name == "roots") {
      srv.ask(ask_id, "roots/list", json::object{}, answer, related);
    } else if (name == "log") {
      srv.notify(
          "notifications/message",
          json::object{{"level", "error"}, {"data", args.contains("text") ? args.at("text") : "x"}},
          related);
      return text_result("logged");
    } else if (name == "hold") {
      // never answered: keeps a call in flight
    }
    return std::nullopt;
  };
  return s;
}

const json::object kSampling{{"sampling", json::object{}}};

// The server asks for b's call, made when whose call it was cannot be told:
// the gateway refuses it and asks neither a (whose call is the only one in
// flight) nor b.
void expect_request_for_b_refused(GatewayHarness& h, FakeServer& server, FakeClient& a,
                                  FakeClient& b) {
  json::object reply;
  server.ask("for-b", "sampling/createMessage",
             json::object{{"messages", json::array{}}, {"maxTokens", 5}},
             [&](const json::object& r) { reply = r; });
  ASSERT_TRUE(h.run_until([&] { return !reply.empty(); }));
  EXPECT_EQ(error_code(reply), protocol::kInternalError);
  EXPECT_TRUE(h.requests_to(a).empty()) << "a got a request made for b's call";
  EXPECT_TRUE(h.requests_to(b).empty());
}

TEST(Routing, ASamplingRequestGoesToTheSessionWhoseCallCausedIt) {
  GatewayHarness h({fake_server("s")});
  h.fakes.script("s", talker());
  h.start();
  auto a = h.connect(kSampling), b = h.connect(kSampling);
  h.tool_names(b);  // b used the server first
  auto call = h.begin(a, "tools/call", json::object{{"name", "s__sample"}});
  ASSERT_TRUE(h.run_until([&] { return !h.requests_to(a, "sampling/createMessage").empty(); }));
  EXPECT_TRUE(h.requests_to(b).empty());
  h.answer(a, h.requests_to(a).at(0), json::object{{"model", "m"}, {"content", "from a"}});
  EXPECT_NE(text_of(h.await(a, call)).find("from a"), std::string::npos);
}

TEST(Routing, WithCallsOfSeveralSessionsInFlightARequestIsRefusedNotGuessed) {
  GatewayHarness h({fake_server("s")});
  h.fakes.script("s", talker());
  h.start();
  auto a = h.connect(kSampling), b = h.connect(kSampling);
  h.begin(b, "tools/call", json::object{{"name", "s__hold"}});  // b's call stays in flight
  ASSERT_TRUE(
      h.run_until([&] { return h.fakes.latest("s") && h.fakes.latest("s")->calls_seen() == 1; }));
  auto r = h.call(a, "s__sample");
  std::string t = text_of(r);
  EXPECT_NE(t.find("-32603"), std::string::npos) << t;
  EXPECT_NE(t.find("instances: per_session"), std::string::npos) << t;
  EXPECT_TRUE(h.requests_to(a).empty());
  EXPECT_TRUE(h.requests_to(b).empty());  // b never sees a's prompt
}

TEST(Routing, ACallBastionStoppedWaitingForStillCountsUntilTheServerAnswersIt) {
  // A cancellation is advisory: the server may go on with a call that timed
  // out or that its client cancelled, and ask or log for it while another
  // session's call is the only one in flight. That session must not get it.
  for (bool by_client : {false, true}) {
    SCOPED_TRACE(by_client ? "cancelled by its client" : "timed out in the gateway");
    auto o = fake_server("s");
    o.call_timeout = 300ms;
    GatewayHarness h({o});
    FakeScript script = talker();
    json::value held;  // the server's id of b's call
    script.on_call = [&held, inner = script.on_call](FakeServer& srv, const json::value& id,
                                                     const std::string& method,
                                                     const json::object& params) {
      if (params.at("name").as_string() == "hold" && held.is_null()) held = id;
      return inner(srv, id, method, params);
    };
    h.fakes.script("s", script);
    h.start();
    auto a = h.connect(kSampling), b = h.connect(kSampling);
    auto b_call = h.begin(b, "tools/call", json::object{{"name", "s__hold"}});
    ASSERT_TRUE(h.run_until([&] { return !held.is_null(); }));
    if (by_client)
      b.session->deliver(
          protocol::make_notification("notifications/cancelled",
                                      json::object{{"requestId", b_call}, {"reason", "bored"}}),
          b.out, h.ioc().get_executor());
    else
      EXPECT_EQ(error_code(h.await(b, b_call)), protocol::kRequestTimeout);
    auto server = h.fakes.latest("s");
    ASSERT_TRUE(h.run_until([&] { return server->heard("notifications/cancelled"); }));
    // a's call is now the only one waiting; the server asks about b's.
    h.begin(a, "tools/call", json::object{{"name", "s__hold"}});
    ASSERT_TRUE(h.run_until([&] { return server->calls_seen() == 2; }));
    ASSERT_NO_FATAL_FAILURE(expect_request_for_b_refused(h, *server, a, b));
    // Once the server has answered b's call, a request is a's again.
    server->reply(held, text_result("late"));
    h.run_for(20ms);
    json::object reply;
    server->ask("for-a", "sampling/createMessage",
                json::object{{"messages", json::array{}}, {"maxTokens", 5}},
                [&](const json::object& r) { reply = r; });
    ASSERT_TRUE(h.run_until([&] { return !h.requests_to(a, "sampling/createMessage").empty(); }));
    h.answer(a, h.requests_to(a).at(0), json::object{{"model", "m"}, {"content", "from a"}});
    ASSERT_TRUE(h.run_until([&] { return !reply.empty(); }));
    EXPECT_EQ(error_code(reply), 0);
  }
}

TEST(Routing, AFloodOfAbandonedCallsIsCappedAndWhatWasDroppedIsNeverGuessed) {
  // A client (or a slow server) can make calls time out as fast as it likes:
  // the calls Bastion remembers for attribution stay at kMaxAbandoned, the
  // oldest going first. Here b's one call goes under a's flood; whose it was
  // is then unknown, so a request the server sends for it is refused, not
  // given to a (whose call is the only one in flight and whose abandoned
  // calls are all that is left), and its late answer reaches no one.
  auto o = fake_server("s");
  o.call_timeout = 200ms;
  GatewayHarness h({o});
  FakeScript script = talker();
  std::vector<json::value> held;  // the server's ids of the held calls, in order
  script.on_call = [&held, inner = script.on_call](FakeServer& srv, const json::value& id,
                                                   const std::string& method,
                                                   const json::object& params) {
    if (params.at("name").as_string() == "hold") held.push_back(id);
    return inner(srv, id, method, params);
  };
  h.fakes.script("s", script);
  h.start();
  auto a = h.connect(kSampling), b = h.connect(kSampling);
  auto timed_out = [&](FakeClient& c) {
    h.drain(c);
    return static_cast<std::size_t>(std::count_if(c.seen.begin(), c.seen.end(), [](auto& m) {
      return error_code(m) == protocol::kRequestTimeout;
    }));
  };
  h.begin(b, "tools/call", json::object{{"name", "s__hold"}});
  ASSERT_TRUE(h.run_until([&] { return timed_out(b) == 1; }));
  auto u = h.gateway().upstreams().at(0);
  EXPECT_EQ(u->abandoned_calls(), 1u);
  constexpr std::size_t kFlood = Upstream::kMaxAbandoned + 50;
  for (std::size_t i = 0; i < kFlood; ++i)
    h.begin(a, "tools/call", json::object{{"name", "s__hold"}});
  ASSERT_TRUE(h.run_until([&] { return timed_out(a) == kFlood; }, 20000ms)) << timed_out(a);
  EXPECT_EQ(u->abandoned_calls(), Upstream::kMaxAbandoned);
  // a's call is the only one in flight; the server asks about b's.
  auto server = h.fakes.latest("s");
  h.begin(a, "tools/call", json::object{{"name", "s__hold"}});
  ASSERT_TRUE(h.run_until([&] { return held.size() == kFlood + 2; }));
  ASSERT_NO_FATAL_FAILURE(expect_request_for_b_refused(h, *server, a, b));
  // The server answers b's dropped call late: nobody hears of it.
  std::size_t a_seen = a.seen.size(), b_seen = b.seen.size();
  server->reply(held.front(), text_result("late"));
  h.run_for(50ms);
  h.drain(a);
  h.drain(b);
  EXPECT_EQ(a.seen.size(), a_seen);
  EXPECT_EQ(b.seen.size(), b_seen);
  EXPECT_EQ(u->abandoned_calls(), Upstream::kMaxAbandoned);
}

TEST(Routing, TheResponseStreamARequestCameOnTiesItExactly) {
  // As over Streamable HTTP: the server sends on the call's own stream, so
  // even with both sessions in flight it is a's.
  GatewayHarness h({fake_server("s")});
  h.fakes.script("s", talker());
  h.start();
  auto a = h.connect(kSampling), b = h.connect(kSampling);
  h.begin(b, "tools/call", json::object{{"name", "s__hold"}});
  ASSERT_TRUE(
      h.run_until([&] { return h.fakes.latest("s") && h.fakes.latest("s")->calls_seen() == 1; }));
  auto call =
      h.begin(a, "tools/call",
              json::object{{"name", "s__sample"}, {"arguments", json::object{{"related", true}}}});
  ASSERT_TRUE(h.run_until([&] { return !h.requests_to(a, "sampling/createMessage").empty(); }));
  EXPECT_TRUE(h.requests_to(b).empty());
  h.answer(a, h.requests_to(a).at(0), json::object{{"model", "m"}, {"content", "exact"}});
  EXPECT_NE(text_of(h.await(a, call)).find("exact"), std::string::npos);
}

TEST(Routing, ARequestOnTheStreamOfBastionsOwnRequestIsNoClientsCall) {
  GatewayHarness h({fake_server("s")});
  h.fakes.script("s", talker());
  h.start();
  auto a = h.connect(kSampling);
  h.tool_names(a);
  json::object reply;
  // Related to a request that is not a client's call (a listing's id).
  h.fakes.latest("s")->ask(
      "x", "sampling/createMessage", json::object{}, [&](const json::object& r) { reply = r; }, 1);
  ASSERT_TRUE(h.run_until([&] { return !reply.empty(); }));
  EXPECT_EQ(error_code(reply), protocol::kInternalError);
  EXPECT_TRUE(h.requests_to(a).empty());
}

TEST(Routing, OnlyClientsThatDeclaredACapabilityAreAsked) {
  GatewayHarness h({fake_server("s")});
  h.fakes.script("s", talker());
  h.start();
  auto plain = h.connect();
  auto t = text_of(h.call(plain, "s__sample"));
  EXPECT_NE(t.find("did not declare the sampling capability"), std::string::npos) << t;
  EXPECT_NE(t.find("-32601"), std::string::npos) << t;
  t = text_of(h.call(plain, "s__roots"));
  EXPECT_NE(t.find("did not declare the roots capability"), std::string::npos) << t;
  EXPECT_TRUE(h.requests_to(plain).empty());
  // Form-mode elicitation only: a url-mode request is refused.
  auto form = h.connect(json::object{{"elicitation", json::object{}}});
  t = text_of(h.call(form, "s__elicit", json::object{{"mode", "url"}}));
  EXPECT_NE(t.find("elicitation.url"), std::string::npos) << t;
  EXPECT_TRUE(h.requests_to(form).empty());
  auto call = h.begin(form, "tools/call", json::object{{"name", "s__elicit"}});
  ASSERT_TRUE(h.run_until([&] { return !h.requests_to(form, "elicitation/create").empty(); }));
  h.answer(form, h.requests_to(form).at(0), json::object{{"action", "decline"}});
  EXPECT_NE(text_of(h.await(form, call)).find("decline"), std::string::npos);
}

TEST(Routing, TheRelaySettingForbidsRequestsAndWhatIsAdvertisedFollowsIt) {
  auto shared = fake_server("s");
  shared.relay.sampling = false;
  auto mine = fake_server("p");
  mine.per_session = true;
  mine.relay.roots = false;
  GatewayHarness h({shared, mine});
  h.fakes.script("s", talker());
  h.fakes.script("p", talker());
  h.start();
  auto a = h.connect(json::object{{"sampling", json::object{}}, {"roots", json::object{}}});
  auto t = text_of(h.call(a, "s__sample"));
  EXPECT_NE(t.find("relay.sampling: false"), std::string::npos) << t;
  t = text_of(h.call(a, "p__roots"));
  EXPECT_NE(t.find("relay.roots: false"), std::string::npos) << t;
  EXPECT_TRUE(h.requests_to(a).empty());
  auto caps_of = [&](const char* server) {
    return h.fakes.latest(server)->initialize_params().at("capabilities").as_object();
  };
  EXPECT_EQ(caps_of("s"), json::parse(R"({"elicitation":{},"roots":{}})").as_object());
  EXPECT_EQ(caps_of("p"), json::parse(R"({"sampling":{},"elicitation":{}})").as_object());
}

TEST(Routing, ALogLineDuringACallGoesToThatCallOnly) {
  GatewayHarness h({fake_server("s")});
  h.fakes.script("s", talker());
  h.start();
  auto a = h.connect(), b = h.connect();
  h.tool_names(b);
  EXPECT_EQ(text_of(h.call(a, "s__log", json::object{{"text", "for a"}})), "logged");
  auto got = h.notifications_to(a, "notifications/message");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].at("params").at("data"), "for a");
  EXPECT_TRUE(h.notifications_to(b, "notifications/message").empty());
  // With b's call in flight too, an unrelated log line is nobody's...
  h.begin(b, "tools/call", json::object{{"name", "s__hold"}});
  ASSERT_TRUE(h.run_until([&] { return h.fakes.latest("s")->calls_seen() == 2; }));
  h.call(a, "s__log", json::object{{"text", "whose?"}});
  h.run_for(20ms);
  EXPECT_EQ(h.notifications_to(a, "notifications/message").size(), 1u);
  EXPECT_TRUE(h.notifications_to(b, "notifications/message").empty());
  // ...and one on a's own response stream is a's.
  h.call(a, "s__log", json::object{{"text", "a again"}, {"related", true}});
  EXPECT_EQ(h.notifications_to(a, "notifications/message").size(), 2u);
  EXPECT_TRUE(h.notifications_to(b, "notifications/message").empty());
}

// A Legacy upstream logs at the session level Bastion set (debug); a Modern
// client's request carries its own level, and none means no log lines at all
// (spec 2026-07-28 logging).
TEST(Routing, AModernCallGetsALegacyUpstreamsLogLinesOnlyAtTheLevelItAskedFor) {
  GatewayHarness h({fake_server("s")});
  h.fakes.script("s", talker());  // logs at "error"
  h.start();
  namespace mk = protocol::meta_key;
  for (auto [level, expected] : std::vector<std::pair<std::string, std::size_t>>{
           {"", 0}, {"debug", 1}, {"error", 1}, {"critical", 0}, {"bogus", 0}}) {
    FakeClient c = h.connect_modern();
    json::object meta{{mk::kProtocolVersion, "2026-07-28"},
                      {mk::kClientCapabilities, json::object{}}};
    if (!level.empty()) meta[mk::kLogLevel] = level;
    auto r = h.request(c, "tools/call",
                       json::object{{"name", "s__log"},
                                    {"arguments", json::object{{"related", true}}},
                                    {"_meta", std::move(meta)}});
    if (level == "bogus") {
      EXPECT_EQ(error_code(r), protocol::kInvalidParams) << json::serialize(r);
    } else {
      EXPECT_EQ(text_of(r), "logged") << level;
    }
    EXPECT_EQ(h.notifications_to(c, "notifications/message").size(), expected) << level;
    h.engine().end_ephemeral_session(c.session);
  }
}

TEST(Routing, ALogLineOutsideAnyCallReachesOnlySessionsAllowedToUseTheServer) {
  GatewayHarness h({fake_server("s"), fake_server("other")});
  h.fakes.script("s", talker());
  h.fakes.script("other", talker());
  h.engine().set_server_authorizer([](const protocol::Principal& p, std::string_view server) {
    return p.subject == "alice" || server == "other";
  });
  protocol::Principal alice, bob;
  alice.authenticated = bob.authenticated = true;
  alice.subject = "alice";
  bob.subject = "bob";
  auto a = h.connect({}, alice), b = h.connect({}, bob);
  h.start();
  h.tool_names(a);
  h.fakes.latest("s")->notify("notifications/message",
                              json::object{{"level", "error"}, {"data", "s says"}});
  h.run_for(20ms);
  EXPECT_EQ(h.notifications_to(a, "notifications/message").size(), 1u);
  EXPECT_TRUE(h.notifications_to(b, "notifications/message").empty());
  h.fakes.latest("other")->notify("notifications/message",
                                  json::object{{"level", "error"}, {"data", "other says"}});
  h.run_for(20ms);
  EXPECT_EQ(h.notifications_to(a, "notifications/message").size(), 2u);
  EXPECT_EQ(h.notifications_to(b, "notifications/message").size(), 1u);
}

TEST(Routing, APerSessionInstanceSpeaksOnlyToItsSession) {
  auto o = fake_server("p");
  o.per_session = true;
  GatewayHarness h({o});
  h.fakes.script("p", talker());
  h.start();
  auto a = h.connect(), b = h.connect();
  h.call(a, "p__log");  // a's instance
  h.tool_names(b);      // b's instance
  auto first = h.fakes.all("p").at(0);
  first->notify("notifications/message", json::object{{"level", "error"}, {"data", "to a"}});
  h.run_for(20ms);
  EXPECT_EQ(h.notifications_to(a, "notifications/message").size(), 2u);
  EXPECT_TRUE(h.notifications_to(b, "notifications/message").empty());
  // roots/list_changed from a client reaches its own instance only.
  a.session->deliver(protocol::make_notification("notifications/roots/list_changed", {}), a.out,
                     h.ioc().get_executor());
  h.run_for(20ms);
  auto saw_roots = [](const std::shared_ptr<FakeServer>& s) {
    for (auto& m : s->received())
      if (m.contains("method") && m.at("method") == "notifications/roots/list_changed") return true;
    return false;
  };
  EXPECT_TRUE(saw_roots(first));
  EXPECT_FALSE(saw_roots(h.fakes.all("p").at(1)));
}

TEST(Routing, ResourceUpdatesOnlyForTheServersOwnUris) {
  FakeScript evil = talker(), victim = talker();
  evil.capabilities["resources"] = json::object{{"subscribe", true}};
  victim.capabilities["resources"] = json::object{{"subscribe", true}};
  victim.resources = {json::object{{"uri", "notes://v"}, {"name", "v"}}};
  victim.on_call = [](FakeServer&, const json::value&, const std::string&,
                      const json::object&) -> std::optional<protocol::Outcome> {
    return json::object{};
  };
  GatewayHarness h({fake_server("evil"), fake_server("victim")});
  h.fakes.script("evil", evil);
  h.fakes.script("victim", victim);
  h.start();
  auto a = h.connect();
  h.request(a, "resources/list");
  EXPECT_FALSE(
      h.request(a, "resources/subscribe", json::object{{"uri", "notes://v"}}).contains("error"));
  h.fakes.latest("evil")->notify("notifications/resources/updated",
                                 json::object{{"uri", "notes://v"}});
  h.run_for(20ms);
  EXPECT_TRUE(h.notifications_to(a, "notifications/resources/updated").empty());
  h.fakes.latest("victim")->notify("notifications/resources/updated",
                                   json::object{{"uri", "notes://v"}});
  h.run_for(20ms);
  EXPECT_EQ(h.notifications_to(a, "notifications/resources/updated").size(), 1u);
}

// A Legacy server's input_required never gets past the bridge
// (EraBridge::from_legacy), so a route to a running Legacy instance says it
// never asks and a Legacy client's call to it keeps no copy of its params;
// while the server is not running (its era unknown) the route may ask.
TEST(Routing, ARouteToARunningLegacyServerNeverAsks) {
  GatewayHarness h({fake_server("s")});
  h.fakes.script("s", talker());
  h.start();
  auto c = h.connect(kSampling);
  auto ctx = std::make_shared<server::RequestContext>(c.session, c.session->caller(), c.out,
                                                      json::value(1), "tools/call", json::value());
  auto before = h.gateway().resolve(server::Kind::kTool, "s__log");
  ASSERT_TRUE(before);
  EXPECT_TRUE(h.gateway().may_ask_input(*before, *ctx));
  auto r = h.call(c, "s__log");
  ASSERT_TRUE(r.contains("result")) << json::serialize(r);
  auto running = h.gateway().resolve(server::Kind::kTool, "s__log");
  ASSERT_TRUE(running);
  EXPECT_FALSE(h.gateway().may_ask_input(*running, *ctx));
}

}  // namespace
}  // namespace bastion::gateway::testing
