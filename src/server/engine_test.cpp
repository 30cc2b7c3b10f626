#include "server/engine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <set>
#include <thread>

#include "server/builtin_backend.hpp"
#include "server/session.hpp"

namespace bastion::server {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// Drives one session synchronously: sends messages, collects what comes out.
struct Harness {
  asio::io_context ioc;
  Engine engine;
  std::shared_ptr<Session> session;
  std::shared_ptr<Outbox> out;

  explicit Harness(EngineOptions o = {}) : engine(o) {}
  void start() {
    session = engine.create_session(protocol::Principal::anonymous());
    out = std::make_shared<Outbox>(ioc.get_executor());
  }
  json::object request(const std::string& method, json::object params = {},
                       std::shared_ptr<const protocol::Principal> caller = nullptr) {
    static int id = 100;
    session->deliver(protocol::make_request(++id, method, std::move(params)), out,
                     ioc.get_executor(), std::move(caller));
    ioc.restart();
    ioc.run_for(std::chrono::seconds(2));
    for (;;) {
      auto m = out->try_pop();
      if (!m) return {};
      if (m->ends_request && m->message && m->message->at("id") == json::value(id))
        return *m->message;
    }
  }
};

std::shared_ptr<BuiltinBackend> backend_with_tools(int n) {
  auto b = std::make_shared<BuiltinBackend>("fake");
  for (int i = 0; i < n; ++i)
    b->add_sync_tool(
        SyncTool{json::object{{"name", "t" + std::to_string(i)}},
                 [i](const json::object&, const protocol::Principal&) -> protocol::Outcome {
                   return text_result("tool " + std::to_string(i));
                 }});
  return b;
}

// A Modern request's session: its id is unique among every session the
// process makes, from any thread, and no client can name it.
TEST(Engine, EphemeralSessionsAreDistinctAndUnreachable) {
  Engine engine(EngineOptions{});
  auto regular = engine.create_session(protocol::Principal::anonymous());
  std::vector<std::shared_ptr<Session>> a, b;
  std::thread t([&] {
    for (int i = 0; i < 5000; ++i) b.push_back(engine.create_ephemeral_session({}));
  });
  for (int i = 0; i < 5000; ++i) a.push_back(engine.create_ephemeral_session({}));
  t.join();
  std::set<std::string> ids{regular->id()};
  for (const auto* v : {&a, &b})
    for (const auto& s : *v) {
      EXPECT_TRUE(ids.insert(s->id()).second) << s->id();
      EXPECT_EQ(s->id().rfind("stateless-", 0), 0u) << s->id();
      EXPECT_EQ(engine.find_session(s->id()), nullptr);
    }
  EXPECT_EQ(ids.size(), 10001u);
  EXPECT_EQ(engine.find_session(regular->id()), regular);
  for (const auto* v : {&a, &b})
    for (const auto& s : *v) engine.end_ephemeral_session(s);
}

TEST(Engine, PaginatesTheMergedCatalogue) {
  EngineOptions o;
  o.page_size = 4;
  Harness h(o);
  h.engine.add_backend(backend_with_tools(6));
  auto second = std::make_shared<BuiltinBackend>("second");
  second->add_sync_tool(
      SyncTool{json::object{{"name", "other"}},
               [](const json::object&, const protocol::Principal&) -> protocol::Outcome {
                 return text_result("other");
               }});
  h.engine.add_backend(second);
  h.start();
  std::vector<std::string> names;
  json::object params;
  for (int page = 0; page < 5; ++page) {
    auto r = h.request("tools/list", params);
    ASSERT_TRUE(r.contains("result")) << json::serialize(r);
    for (auto& t : r.at("result").at("tools").as_array())
      names.emplace_back(t.at("name").as_string());
    auto* next = r.at("result").as_object().if_contains("nextCursor");
    if (!next) break;
    params = json::object{{"cursor", *next}};
  }
  // Every tool once, across pages, in name order whatever the backend order
  // (deterministic tools/list, MCP 2026-07-28).
  EXPECT_EQ(names, (std::vector<std::string>{"other", "t0", "t1", "t2", "t3", "t4", "t5"}));
  auto bad = h.request("tools/list", json::object{{"cursor", "o999"}});
  EXPECT_EQ(bad.at("error").at("code").as_int64(), protocol::kInvalidParams);
}

// A builtin tool's arguments are checked against its own schema, found by
// its name among many; a name added again replaces its definition (one
// entry in tools/list, the new schema checked).
TEST(Engine, BuiltinToolsCheckArgumentsAgainstTheirOwnSchema) {
  Harness h;
  auto b = backend_with_tools(40);
  auto schema = [](const char* required) {
    return json::object{{"type", "object"},
                        {"properties", json::object{{required, json::object{{"type", "string"}}}}},
                        {"required", json::array{required}}};
  };
  auto answer = [](const json::object&, const protocol::Principal&) -> protocol::Outcome {
    return text_result("ran");
  };
  b->add_sync_tool(
      SyncTool{json::object{{"name", "needs_a"}, {"inputSchema", schema("a")}}, answer});
  b->add_sync_tool(
      SyncTool{json::object{{"name", "needs_b"}, {"inputSchema", schema("b")}}, answer});
  b->add_sync_tool(
      SyncTool{json::object{{"name", "needs_a"}, {"inputSchema", schema("c")}}, answer});
  h.engine.add_backend(b);
  h.start();
  auto call = [&](const char* tool, const char* arg) {
    auto r = h.request("tools/call",
                       json::object{{"name", tool}, {"arguments", json::object{{arg, "x"}}}});
    return json::serialize(r.at("result"));
  };
  EXPECT_NE(call("needs_b", "a").find("Invalid arguments"), std::string::npos);
  EXPECT_EQ(call("needs_b", "b").find("Invalid arguments"), std::string::npos);
  EXPECT_NE(call("needs_a", "a").find("Invalid arguments"), std::string::npos);
  EXPECT_EQ(call("needs_a", "c").find("Invalid arguments"), std::string::npos);
  auto list = h.request("tools/list");
  int seen = 0;
  for (auto& t : list.at("result").at("tools").as_array())
    seen += t.at("name").as_string() == "needs_a";
  EXPECT_EQ(seen, 1);
  // Its x-mcp-header annotations go with the definition it replaces.
  auto annotated = json::parse(
      R"({"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}})");
  b->add_sync_tool(SyncTool{json::object{{"name", "headed"}, {"inputSchema", annotated}}, answer});
  Route headed{Kind::kTool, "headed", "fake", "headed"};
  ASSERT_EQ(b->param_headers(headed).size(), 1u);
  EXPECT_EQ(b->param_headers(headed)[0].name, "Region");
  b->add_sync_tool(
      SyncTool{json::object{{"name", "headed"}, {"inputSchema", schema("b")}}, answer});
  EXPECT_TRUE(b->param_headers(headed).empty());
}

class CountingFilter : public Filter {
 public:
  std::string_view name() const override { return "counting"; }
  Verdict on_request(json::object& params, CallContext& ctx) override {
    ++requests;
    last_target = std::string(ctx.target);
    if (params.contains("arguments") && params.at("arguments").as_object().contains("deny"))
      return Verdict::reject({protocol::kPolicyRejected, "denied by filter"});
    return {};
  }
  Verdict on_response(json::object& result, CallContext&) override {
    ++responses;
    result["filtered"] = true;
    return {};
  }
  int requests = 0, responses = 0;
  std::string last_target;
};

TEST(Engine, FilterChainSeesRequestsAndResponsesAndCanReject) {
  Harness h;
  h.engine.add_backend(backend_with_tools(2));
  auto f = std::make_shared<CountingFilter>();
  h.engine.filters().add(f);
  h.start();
  auto ok = h.request("tools/call", json::object{{"name", "t1"}, {"arguments", json::object{}}});
  EXPECT_TRUE(ok.at("result").at("filtered").as_bool());
  EXPECT_EQ(f->last_target, "t1");
  auto denied = h.request("tools/call",
                          json::object{{"name", "t1"}, {"arguments", json::object{{"deny", 1}}}});
  EXPECT_EQ(denied.at("error").at("code").as_int64(), protocol::kPolicyRejected);
  EXPECT_EQ(f->requests, 2);
  EXPECT_EQ(f->responses, 1);
  h.request("tools/list");  // lists are not filtered
  EXPECT_EQ(f->requests, 2);
}

// A filter that defers work past the chain (as the audit filter defers its
// record): the answer waits for it, a failure replaces the result, and the
// filters hear of that failure as of any error.
class DeferringFilter : public Filter {
 public:
  struct Work : Deferred {
    explicit Work(DeferringFilter& f) : f_(f) {}
    asio::awaitable<std::optional<protocol::RpcError>> run(CallContext&) override {
      ++f_.ran;
      if (f_.fail) co_return protocol::RpcError{protocol::kAuditUnavailable, "not written"};
      co_return std::nullopt;
    }
    DeferringFilter& f_;
  };
  std::string_view name() const override { return "deferring"; }
  Verdict on_request(json::object&, CallContext&) override { return {}; }
  Verdict on_response(json::object&, CallContext& ctx) override {
    if (ctx.can_defer && !ctx.deferred) ctx.deferred = std::make_unique<Work>(*this);
    return Verdict::unchanged();
  }
  void on_error(protocol::RpcError& e, CallContext&) override { errors.push_back(e.code); }
  bool fail = false;
  int ran = 0;
  std::vector<std::int64_t> errors;
};

TEST(Engine, DeferredWorkRunsBeforeTheAnswerAndItsFailureWithholdsTheResult) {
  Harness h;
  h.engine.add_backend(backend_with_tools(1));
  auto f = std::make_shared<DeferringFilter>();
  h.engine.filters().add(f);
  h.start();
  json::object call{{"name", "t0"}, {"arguments", json::object{}}};
  auto ok = h.request("tools/call", call);
  EXPECT_EQ(ok.at("result").at("content").at(0).at("text"), "tool 0");
  EXPECT_EQ(f->ran, 1);
  EXPECT_TRUE(f->errors.empty());
  f->fail = true;
  auto withheld = h.request("tools/call", call);
  ASSERT_TRUE(withheld.contains("error")) << json::serialize(withheld);
  EXPECT_EQ(withheld.at("error").at("code").as_int64(), protocol::kAuditUnavailable);
  EXPECT_FALSE(withheld.contains("result"));
  EXPECT_EQ(f->ran, 2);
  EXPECT_EQ(f->errors, (std::vector<std::int64_t>{protocol::kAuditUnavailable}));
}

TEST(Engine, AuthorizerHidesAndBlocksTools) {
  Harness h;
  h.engine.add_backend(backend_with_tools(3));
  h.engine.set_authorizer([](const protocol::Principal&, std::string_view, Kind,
                             std::string_view name) { return name != "t2"; });
  h.start();
  auto list = h.request("tools/list");
  EXPECT_EQ(list.at("result").at("tools").as_array().size(), 2u);
  auto hidden = h.request("tools/call", json::object{{"name", "t2"}});
  EXPECT_EQ(hidden.at("error").at("code").as_int64(), protocol::kInvalidParams);
}

// A remote-like backend that counts lookups and records the route it is
// handed: everything a call needs must come from one resolve().
class CountingBackend : public Backend {
 public:
  std::string_view name() const override { return "counting"; }
  bool local() const override { return false; }
  json::object capabilities() const override { return {}; }
  asio::awaitable<std::vector<Listed>> list(Kind, RequestContext&) override {
    co_return std::vector<Listed>{Listed{json::object{{"name", "shared"}}, "upstream-a", "shared"},
                                  Listed{json::object{{"name", "x__tool"}}, "upstream-x", "tool"}};
  }
  std::optional<Route> resolve(Kind kind, std::string_view key) const override {
    ++resolves;
    Route r;
    r.kind = kind;
    r.key = std::string(key);
    r.server = "upstream-x";
    r.name = "tool";
    r.settled = false;
    return r;
  }
  asio::awaitable<Settled> settle(Route r, RequestContext&) override {
    ++settles;
    r.name = "tool-at-x";
    r.settled = true;
    co_return r;
  }
  asio::awaitable<protocol::Outcome> call(const Route& r, std::string_view, json::object,
                                          RequestContext&) override {
    called_with = r;
    co_return text_result("from " + r.server + "/" + r.name);
  }
  mutable int resolves = 0;
  int settles = 0;
  Route called_with;
};

class RouteRecordingFilter : public Filter {
 public:
  std::string_view name() const override { return "route"; }
  Verdict on_request(json::object&, CallContext& ctx) override {
    seen = ctx.route;
    server = std::string(ctx.server);
    target = std::string(ctx.target);
    return {};
  }
  const Route* seen = nullptr;
  std::string server, target;
};

TEST(Engine, ResolvesACallOnceAndHandsTheRouteDown) {
  Harness h;
  auto b = std::make_shared<CountingBackend>();
  h.engine.add_backend(b);
  auto f = std::make_shared<RouteRecordingFilter>();
  h.engine.filters().add(f);
  h.start();
  auto r = h.request("tools/call", json::object{{"name", "x__tool"}});
  ASSERT_TRUE(r.contains("result")) << json::serialize(r);
  EXPECT_EQ(b->resolves, 1);
  EXPECT_EQ(b->settles, 1);
  // The filters saw the settled route, and the backend got the same record.
  ASSERT_NE(f->seen, nullptr);
  EXPECT_EQ(f->server, "upstream-x");
  EXPECT_EQ(f->target, "tool-at-x");
  EXPECT_EQ(b->called_with.key, "x__tool");
  EXPECT_EQ(b->called_with.name, "tool-at-x");
  EXPECT_EQ(b->called_with.backend, b.get());
  EXPECT_TRUE(b->called_with.settled);
}

TEST(Engine, ScopeCheckUsesTheRouteAndRechecksASettledName) {
  Harness h;
  auto b = std::make_shared<CountingBackend>();
  h.engine.add_backend(b);
  std::vector<std::string> asked;
  h.engine.set_authorizer(
      [&](const protocol::Principal&, std::string_view server, Kind, std::string_view name) {
        asked.push_back(std::string(server) + "/" + std::string(name));
        return name != "tool-at-x";
      });
  h.start();
  auto r = h.request("tools/call", json::object{{"name", "x__tool"}});
  EXPECT_EQ(r.at("error").at("code").as_int64(), protocol::kInvalidParams);
  EXPECT_EQ(asked, (std::vector<std::string>{"upstream-x/tool", "upstream-x/tool-at-x"}));
  EXPECT_EQ(b->called_with.key, "");  // never called
}

TEST(Engine, LocalBackendsWinOverTheGatewayWhateverTheOrder) {
  Harness h;
  auto remote = std::make_shared<CountingBackend>();
  h.engine.add_backend(remote);  // added first, consulted last
  auto local = std::make_shared<BuiltinBackend>("builtin");
  local->add_sync_tool(
      SyncTool{json::object{{"name", "shared"}},
               [](const json::object&, const protocol::Principal&) -> protocol::Outcome {
                 return text_result("local");
               }});
  h.engine.add_backend(local);
  h.start();
  auto r = h.request("tools/call", json::object{{"name", "shared"}});
  EXPECT_EQ(r.at("result").at("content").at(0).at("text"), "local");
  EXPECT_EQ(remote->resolves, 0);
  // Listed once, as the local one.
  auto list = h.request("tools/list");
  std::vector<std::string> names;
  for (auto& t : list.at("result").at("tools").as_array())
    names.emplace_back(t.at("name").as_string());
  EXPECT_EQ(names, (std::vector<std::string>{"shared", "x__tool"}));
}

TEST(Engine, MessagesTiedToNoCallReachOnlySessionsAllowedToUseTheServer) {
  asio::io_context ioc;
  Engine e({});
  e.set_server_authorizer([](const protocol::Principal& p, std::string_view server) {
    return p.subject == "alice" || server == "public";
  });
  protocol::Principal alice, bob;
  alice.subject = "alice";
  bob.subject = "bob";
  auto a = e.create_session(alice);
  auto b = e.create_session(bob);
  auto out_a = std::make_shared<Outbox>(ioc.get_executor());
  auto out_b = std::make_shared<Outbox>(ioc.get_executor());
  a->attach_standalone(out_a);
  b->attach_standalone(out_b);
  auto log = [](std::string_view level) {
    return protocol::make_notification("notifications/message",
                                       json::object{{"level", level}, {"data", "x"}});
  };
  e.notify({"secret", {}}, log("error"));
  EXPECT_TRUE(out_a->try_pop());
  EXPECT_FALSE(out_b->try_pop());  // bob may not use "secret"
  e.notify({"public", {}}, log("error"));
  EXPECT_TRUE(out_a->try_pop());
  EXPECT_TRUE(out_b->try_pop());
  // One session only, and still only if it is allowed.
  e.notify({"public", a->id()}, log("error"));
  EXPECT_TRUE(out_a->try_pop());
  EXPECT_FALSE(out_b->try_pop());
  e.notify({"secret", b->id()}, log("error"));
  EXPECT_FALSE(out_b->try_pop());
  // Each session's log level holds.
  a->set_log_level(LogLevel::kError);
  e.notify({"public", {}}, log("info"));
  EXPECT_FALSE(out_a->try_pop());
  EXPECT_TRUE(out_b->try_pop());
  // resources/updated: subscribed and allowed.
  a->subscribe("x://1");
  b->subscribe("x://1");
  e.resource_updated({"secret", {}}, "x://1");
  EXPECT_TRUE(out_a->try_pop());
  EXPECT_FALSE(out_b->try_pop());
}

// One user's session, its token narrowed since it opened it (a SIGHUP
// narrowed the client, or a refresh asked for less): every request is
// served with the scopes its own token holds, never the session's first.
TEST(Engine, EachRequestIsServedWithTheScopesOfItsOwnToken) {
  Harness h;
  h.engine.add_backend(backend_with_tools(3));
  auto may_use = [](const protocol::Principal& p, std::string_view, Kind, std::string_view name) {
    return p.has_scope(name);
  };
  h.engine.set_authorizer(may_use);
  h.engine.set_server_authorizer(
      [](const protocol::Principal& p, std::string_view server) { return p.has_scope(server); });
  protocol::Principal wide{"https://as", "alice", "app", {"t0", "t1", "t2", "fake"}, true};
  h.session = h.engine.create_session(wide);
  h.out = std::make_shared<Outbox>(h.ioc.get_executor());
  auto stream = std::make_shared<Outbox>(h.ioc.get_executor());
  h.session->attach_standalone(stream);
  auto log = [] {
    return protocol::make_notification("notifications/message", json::object{{"level", "error"}});
  };
  EXPECT_EQ(h.request("tools/list").at("result").at("tools").as_array().size(), 3u);
  h.engine.notify({"fake", {}}, log());
  EXPECT_TRUE(stream->try_pop());

  protocol::Principal narrowed = wide;
  narrowed.scopes = {"t0"};
  auto now = h.session->admit_caller(narrowed);
  auto list = h.request("tools/list", {}, now);
  EXPECT_EQ(list.at("result").at("tools").as_array().size(), 1u) << json::serialize(list);
  auto hidden = h.request("tools/call", json::object{{"name", "t1"}}, now);
  EXPECT_EQ(hidden.at("error").at("code").as_int64(), protocol::kInvalidParams);
  EXPECT_TRUE(h.request("tools/call", json::object{{"name", "t0"}}, now).contains("result"));
  // Messages tied to no request follow the latest request's scopes too.
  EXPECT_EQ(h.session->caller()->scopes, narrowed.scopes);
  h.engine.notify({"fake", {}}, log());
  EXPECT_FALSE(stream->try_pop()) << "a narrowed session still hears a server it lost";
  // The same token as at the start widens it back (the owner's scopes).
  h.session->admit_caller(wide);
  EXPECT_EQ(h.request("tools/list").at("result").at("tools").as_array().size(), 3u);
}

// One user opening session after session: refused at its own bound while
// every other caller (another user of the same client app, another client)
// still gets in; ending one of its sessions frees a place.
TEST(Engine, ACallerCannotTakeEverySession) {
  EngineOptions o;
  o.max_sessions = 10;
  o.max_sessions_per_caller = 3;
  Engine e(o);
  protocol::Principal alice{"https://as", "alice", "app", {"mcp.access"}, true};
  protocol::Principal bob = alice;
  bob.subject = "bob";
  std::vector<std::shared_ptr<Session>> mine;
  for (int i = 0; i < 3; ++i) mine.push_back(e.create_session(alice));
  for (auto& s : mine) ASSERT_TRUE(s);
  auto refused = e.open_session(alice);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().limit, Engine::SessionLimit::kPerCaller);
  EXPECT_NE(refused.error().reason.find("max_sessions_per_caller"), std::string::npos);
  protocol::Principal narrowed = alice;  // the same caller with other scopes
  narrowed.scopes = {"mcp:server:x"};
  EXPECT_FALSE(e.open_session(narrowed));
  EXPECT_TRUE(e.open_session(bob));
  ASSERT_TRUE(e.close_session(mine[0]->id()));
  EXPECT_TRUE(e.open_session(alice));
  // Callers without a token cannot be told apart: only max_sessions holds.
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(e.open_session(protocol::Principal::anonymous()));
  auto full = e.open_session(protocol::Principal::anonymous());
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().limit, Engine::SessionLimit::kTotal);
}

TEST(Engine, LifecycleAndErrors) {
  Harness h;
  h.start();
  auto init = h.request(
      "initialize", json::object{{"protocolVersion", "2025-06-18"},
                                 {"capabilities", json::object{}},
                                 {"clientInfo", json::object{{"name", "t"}, {"version", "1"}}}});
  EXPECT_EQ(init.at("result").at("protocolVersion").as_string(), "2025-06-18");
  EXPECT_EQ(h.session->protocol_version(), "2025-06-18");
  EXPECT_EQ(h.request("ping").at("result").as_object().size(), 0u);
  EXPECT_EQ(h.request("nope").at("error").at("code").as_int64(), protocol::kMethodNotFound);
  EXPECT_EQ(
      h.request("logging/setLevel", json::object{{"level", "x"}}).at("error").at("code").as_int64(),
      protocol::kInvalidParams);
  EXPECT_EQ(
      h.request("tools/call", json::object{{"name", "missing"}}).at("error").at("code").as_int64(),
      protocol::kInvalidParams);
  EXPECT_EQ(
      h.request("resources/read", json::object{{"uri", "x://y"}}).at("error").at("code").as_int64(),
      protocol::kResourceNotFound);
}

TEST(Engine, TellsListenersWhenASessionCloses) {
  EngineOptions o;
  o.session_idle_timeout = std::chrono::seconds(1);
  Engine e(o);
  std::vector<std::string> closed;
  auto id = e.on_session_closed([&](const std::string& sid) { closed.push_back(sid); });
  auto a = e.create_session({});
  auto b = e.create_session({});
  EXPECT_TRUE(e.close_session(a->id()));
  EXPECT_FALSE(e.close_session(a->id()));  // once
  EXPECT_EQ(closed, (std::vector<std::string>{a->id()}));
  e.expire_idle(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(closed, (std::vector<std::string>{a->id(), b->id()}));
  e.remove_session_listener(id);
  e.close_session(e.create_session({})->id());
  EXPECT_EQ(closed.size(), 2u);
}

TEST(Cursor, RoundTripsAndRejectsGarbage) {
  EXPECT_EQ(decode_cursor(encode_cursor(12345)), 12345u);
  EXPECT_FALSE(decode_cursor("x"));
  EXPECT_FALSE(decode_cursor("o12a"));
  EXPECT_FALSE(decode_cursor(""));
}

}  // namespace
}  // namespace bastion::server

#include "server/chash.hpp"

namespace bastion::server {
namespace {

TEST(NginxChash, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(ngx_crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(ngx_crc32(""), 0u);
}

TEST(NginxChash, SpreadsKeysAndIsStable) {
  NginxChashRing ring({"127.0.0.1:8081", "127.0.0.1:8082"});
  int first = 0;
  for (int i = 0; i < 1000; ++i)
    first += ring.lookup("session-" + std::to_string(i)) == "127.0.0.1:8081";
  EXPECT_GT(first, 300);
  EXPECT_LT(first, 700);
  NginxChashRing again({"127.0.0.1:8081", "127.0.0.1:8082"});
  EXPECT_EQ(ring.lookup("abc"), again.lookup("abc"));
}

TEST(NginxChash, EngineKeepsOnlyIdsRoutedToItself) {
  NginxChashRing ring({"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"});
  EngineOptions o;
  o.accept_session_id = [&](std::string_view id) { return ring.lookup(id) == "10.0.0.2:80"; };
  Engine e(o);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(ring.lookup(e.create_session({})->id()), "10.0.0.2:80");
}

// --- MCP 2026-07-28 (Modern) requests -------------------------------------

json::object modern_params(json::object params,
                           json::object caps = {{"elicitation", json::object{}}}) {
  params["_meta"] = json::object{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                                 {"io.modelcontextprotocol/clientCapabilities", std::move(caps)}};
  return params;
}

// A tool that asks for a name by elicitation, keeping `{"step":1}` in its
// requestState, and reports what it got back.
// Built outside the coroutine: GCC 12 rejects braced initializers with
// string literals inside coroutine bodies.
protocol::Outcome ask(const std::string& method, const RequestContext& ctx) {
  if (ctx.input_responses() && ctx.input_responses()->contains("q"))
    return text_result("state=" + json::serialize(ctx.request_state()));
  json::object req{{"method", method}, {"params", json::object{}}};
  return json::object{{"resultType", "input_required"},
                      {"inputRequests", json::object{{"q", std::move(req)}}},
                      {"requestState", json::object{{"step", 1}}}};
}

std::shared_ptr<BuiltinBackend> asking_backend(std::string method = "elicitation/create") {
  auto b = std::make_shared<BuiltinBackend>("asker");
  b->add_tool(json::object{{"name", "ask"}},
              [method](json::object, RequestContext& ctx) -> asio::awaitable<protocol::Outcome> {
                co_return ask(method, ctx);
              });
  return b;
}

TEST(EngineModern, SealsRequestStateAndOpensItOnTheRetry) {
  Harness h;
  h.engine.add_backend(asking_backend());
  h.start();
  auto r1 = h.request("tools/call", modern_params({{"name", "ask"}}));
  const auto& res1 = r1.at("result").as_object();
  EXPECT_EQ(res1.at("resultType"), "input_required");
  std::string state(res1.at("requestState").as_string());
  EXPECT_EQ(state.rfind("bs1.", 0), 0u);
  auto r2 = h.request(
      "tools/call",
      modern_params({{"name", "ask"},
                     {"requestState", state},
                     {"inputResponses", json::object{{"q", json::object{{"action", "accept"}}}}}}));
  ASSERT_TRUE(r2.contains("result")) << json::serialize(r2);
  EXPECT_EQ(r2.at("result").at("resultType"), "complete");
  EXPECT_EQ(r2.at("result").at("content").at(0).at("text"), R"(state={"step":1})");
  // The same state on a tool call with other arguments is refused.
  auto r3 = h.request("tools/call", modern_params({{"name", "ask"},
                                                   {"arguments", json::object{{"x", 1}}},
                                                   {"requestState", state}}));
  EXPECT_EQ(r3.at("error").at("code"), protocol::kInvalidParams);
  // So is a state whose answers are not result objects.
  auto r4 = h.request("tools/call",
                      modern_params({{"name", "ask"}, {"inputResponses", json::object{{"q", 1}}}}));
  EXPECT_EQ(r4.at("error").at("code"), protocol::kInvalidParams);
}

// A filter standing in for the PII policy on answers: "SECRET" in a
// client's answer is masked, or (refuse) the answer is refused.
class AnswerFilter : public Filter {
 public:
  std::string_view name() const override { return "answers"; }
  // What a server is handed: the params after the engine.
  Verdict on_request(json::object& params, CallContext&) override {
    raw_fields |= params.contains("requestState") || params.contains("inputResponses");
    return {};
  }
  Verdict on_client_answer(json::object& answer, const MessageContext& mc) override {
    ++answers;
    server = std::string(mc.server);
    target = std::string(mc.target);
    method = std::string(mc.method);
    std::string text = json::serialize(answer);
    if (text.find("SECRET") == std::string::npos) return {};
    if (refuse) return Verdict::reject({protocol::kPolicyRejected, "answer refused"});
    answer["result"] = json::parse(text.replace(text.find("SECRET"), 6, "[masked]")).at("result");
    return {};
  }
  bool refuse = false;
  bool raw_fields = false;
  int answers = 0;
  std::string server, target, method;
};

// A tool that asks once, then answers with the inputResponses it was given
// (and whether its own params still held any).
std::shared_ptr<BuiltinBackend> answer_echo_backend() {
  auto b = std::make_shared<BuiltinBackend>("asker");
  b->add_tool(json::object{{"name", "ask"}},
              [](json::object params, RequestContext& ctx) -> asio::awaitable<protocol::Outcome> {
                if (ctx.input_responses())
                  co_return text_result(json::serialize(*ctx.input_responses()));
                if (params.contains("requestState") || params.contains("inputResponses"))
                  co_return text_result("raw round-trip fields reached the tool");
                co_return ask("elicitation/create", ctx);
              });
  return b;
}

// attack: a Modern client's answers to input requests (inputResponses) go
// to the server that asked: they pass the filters (the PII policy) as a
// Legacy client's answers do, are rewritten by them, and a refusal fails
// the call. Before, they went to the server unfiltered.
TEST(EngineModern, InputResponsesPassTheFiltersOnTheirWayToTheServer) {
  for (bool refuse : {false, true}) {
    Harness h;
    h.engine.add_backend(answer_echo_backend());
    auto f = std::make_shared<AnswerFilter>();
    f->refuse = refuse;
    h.engine.filters().add(f);
    h.start();
    auto r1 = h.request("tools/call", modern_params({{"name", "ask"}}));
    std::string state(r1.at("result").at("requestState").as_string());
    json::object answer{{"action", "accept"}, {"content", json::object{{"ssn", "SECRET"}}}};
    auto r2 = h.request("tools/call", modern_params({{"name", "ask"},
                                                     {"requestState", state},
                                                     {"inputResponses", json::object{{"q", answer}}}}));
    EXPECT_EQ(f->answers, 1);
    EXPECT_EQ(f->server, "asker");
    EXPECT_EQ(f->target, "ask");
    EXPECT_EQ(f->method, R"(inputResponses["q"])");
    if (refuse) {
      ASSERT_TRUE(r2.contains("error")) << json::serialize(r2);
      EXPECT_EQ(r2.at("error").at("code"), protocol::kPolicyRejected);
    } else {
      ASSERT_TRUE(r2.contains("result")) << json::serialize(r2);
      const std::string seen(r2.at("result").at("content").at(0).at("text").as_string());
      EXPECT_EQ(seen.find("SECRET"), std::string::npos) << seen;
      EXPECT_NE(seen.find("[masked]"), std::string::npos) << seen;
    }
  }
}

// attack: a Legacy client has no multi round-trip requests; a requestState
// or inputResponses it puts in its params never reaches a server (a Modern
// upstream would take an unsealed, unbound state).
TEST(Engine, ALegacyClientsRoundTripFieldsNeverReachTheServer) {
  Harness h;
  h.engine.add_backend(answer_echo_backend());
  auto f = std::make_shared<AnswerFilter>();
  h.engine.filters().add(f);
  h.start();
  auto r = h.request("tools/call",
                     json::object{{"name", "ask"},
                                  {"requestState", "forged"},
                                  {"inputResponses", json::object{{"q", json::object{}}}}});
  ASSERT_TRUE(r.contains("result") || r.contains("error")) << json::serialize(r);
  EXPECT_FALSE(f->raw_fields) << "the server was handed the client's requestState/inputResponses";
  EXPECT_EQ(f->answers, 0);
  // Control: a Modern client's own fields are the engine's to take; the
  // server is handed neither.
  auto m = h.request("tools/call", modern_params({{"name", "ask"}}));
  EXPECT_FALSE(f->raw_fields);
}

// A backend whose one task waits for input with SECRET in its input
// request, status message and (once failed) error, and records the answers
// tasks/update hands it.
class TaskBackend : public CountingBackend {
 public:
  asio::awaitable<std::optional<TaskReply>> task_request(std::string_view method,
                                                        const json::object& params,
                                                        RequestContext&) override {
    if (params.at("taskId") != "t1") co_return std::nullopt;
    TaskReply reply{json::object{}, "upstream-x", "tool"};
    if (method == "tasks/update") {
      updated_with = json::serialize(params.at("inputResponses"));
      co_return reply;
    }
    json::object task{{"taskId", "t1"}, {"status", failed ? "failed" : "input_required"},
                      {"statusMessage", "waiting for SECRET"}};
    if (failed)
      task["error"] = json::object{{"code", -32603}, {"message", "SECRET lost"}};
    else
      task["inputRequests"] = json::object{
          {"q", json::object{{"method", "elicitation/create"},
                             {"params", json::object{{"message", "confirm SECRET"}}}}}};
    reply.out = std::move(task);
    co_return reply;
  }
  bool failed = false;
  std::string updated_with;
};

// An outbound filter standing in for the PII policy toward the client.
class OutboundMask : public AnswerFilter {
 public:
  Verdict on_outbound(json::object& message, const MessageContext& mc) override {
    ++outbound;
    out_server = std::string(mc.server);
    std::string text = json::serialize(message);
    if (text.find("SECRET") == std::string::npos) return {};
    if (refuse) return Verdict::reject({protocol::kPolicyRejected, "message refused"});
    for (auto p = text.find("SECRET"); p != std::string::npos; p = text.find("SECRET"))
      text.replace(p, 6, "[masked]");
    message = json::parse(text).as_object();
    return {};
  }
  int outbound = 0;
  std::string out_server;
};

// attack: a task shows its server's input requests, status message and
// error to the client through tasks/get, and takes the client's answers
// through tasks/update: both pass the filters (before: only a finished
// task's result did).
TEST(EngineModern, TaskInputRequestsStatusErrorsAndAnswersPassTheFilters) {
  json::object caps{{"elicitation", json::object{}},
                    {"extensions", json::object{{std::string(kTasksExtension), json::object{}}}}};
  for (bool refuse : {false, true}) {
    for (bool failed : {false, true}) {
      Harness h;
      auto b = std::make_shared<TaskBackend>();
      b->failed = failed;
      h.engine.add_backend(b);
      auto f = std::make_shared<OutboundMask>();
      f->refuse = refuse;
      h.engine.filters().add(f);
      h.start();
      auto got = h.request("tasks/get", modern_params({{"taskId", "t1"}}, caps));
      EXPECT_EQ(f->outbound, 1);
      EXPECT_EQ(f->out_server, "upstream-x");
      EXPECT_EQ(json::serialize(got).find("SECRET"), std::string::npos) << json::serialize(got);
      if (refuse) {
        EXPECT_EQ(got.at("error").at("code"), protocol::kPolicyRejected) << json::serialize(got);
      } else {
        ASSERT_TRUE(got.contains("result")) << json::serialize(got);
        EXPECT_EQ(got.at("result").at("statusMessage"), "waiting for [masked]");
        EXPECT_EQ(got.at("result").at("taskId"), "t1");
        EXPECT_TRUE(got.at("result").as_object().contains(failed ? "error" : "inputRequests"));
      }
    }
    Harness h;
    auto b = std::make_shared<TaskBackend>();
    h.engine.add_backend(b);
    auto f = std::make_shared<OutboundMask>();
    f->refuse = refuse;
    h.engine.filters().add(f);
    h.start();
    json::object answer{{"action", "accept"}, {"content", json::object{{"ssn", "SECRET"}}}};
    auto up = h.request("tasks/update",
                        modern_params({{"taskId", "t1"}, {"inputResponses", json::object{{"q", answer}}}},
                                      caps));
    EXPECT_EQ(f->answers, 1);
    EXPECT_EQ(f->method, R"(tasks/update inputResponses["q"])");
    if (refuse) {
      EXPECT_EQ(up.at("error").at("code"), protocol::kPolicyRejected) << json::serialize(up);
      EXPECT_EQ(b->updated_with, "");
    } else {
      EXPECT_TRUE(up.contains("result")) << json::serialize(up);
      EXPECT_EQ(b->updated_with.find("SECRET"), std::string::npos) << b->updated_with;
      EXPECT_NE(b->updated_with.find("[masked]"), std::string::npos) << b->updated_with;
    }
  }
}

TEST(EngineModern, NeverAsksForACapabilityTheClientDidNotDeclare) {
  Harness h;
  h.engine.add_backend(asking_backend("sampling/createMessage"));
  h.start();
  auto r = h.request("tools/call", modern_params({{"name", "ask"}}));
  ASSERT_TRUE(r.contains("error")) << json::serialize(r);
  EXPECT_EQ(r.at("error").at("code"), protocol::kMissingRequiredClientCapability);
  EXPECT_TRUE(r.at("error").at("data").at("requiredCapabilities").as_object().contains("sampling"));
  // Not a valid input request at all: refused, never relayed.
  Harness h2;
  h2.engine.add_backend(asking_backend("tools/call"));
  h2.start();
  auto r2 = h2.request("tools/call", modern_params({{"name", "ask"}}));
  EXPECT_EQ(r2.at("error").at("code"), protocol::kInternalError);
}

TEST(EngineModern, DecoratesResultsAndRefusesRemovedMethods) {
  Harness h;
  h.engine.add_backend(backend_with_tools(2));
  h.start();
  auto list = h.request("tools/list", modern_params({}));
  EXPECT_EQ(list.at("result").at("resultType"), "complete");
  EXPECT_EQ(list.at("result").at("ttlMs"), 0);
  EXPECT_EQ(list.at("result").at("cacheScope"), "public");
  EXPECT_EQ(list.at("result").at("_meta").at("io.modelcontextprotocol/serverInfo").at("name"),
            "bastion");
  for (const char* m : {"ping", "initialize", "logging/setLevel", "resources/subscribe"}) {
    auto r = h.request(m, modern_params({}));
    EXPECT_EQ(r.at("error").at("code"), protocol::kMethodNotFound) << m;
  }
  // The same session serves Legacy requests as before: no resultType.
  auto legacy = h.request("tools/list");
  EXPECT_FALSE(legacy.at("result").as_object().contains("resultType"));
}

// A Legacy client's tools/call whose every elicitation/create is answered
// (accepted); the call's response, and how many questions it was asked.
json::object legacy_call_answering(Harness& h, json::object params, int* asked = nullptr) {
  static std::int64_t id = 900;
  const std::int64_t me = ++id;
  h.session->deliver(protocol::make_request(me, "tools/call", std::move(params)), h.out,
                     h.ioc.get_executor());
  for (int turn = 0; turn < 10; ++turn) {
    h.ioc.restart();
    h.ioc.run_for(std::chrono::milliseconds(200));
    std::vector<json::value> questions;
    while (auto m = h.out->try_pop()) {
      if (!m->message) continue;
      if (m->ends_request && m->message->at("id") == json::value(me)) return *m->message;
      if (auto* method = m->message->if_contains("method");
          method && *method == "elicitation/create")
        questions.push_back(m->message->at("id"));
    }
    if (asked) *asked += static_cast<int>(questions.size());
    for (const auto& q : questions)
      h.session->deliver(protocol::make_result(q, json::object{{"action", "accept"}}), h.out,
                         h.ioc.get_executor());
  }
  return {};
}

void initialize_legacy(Harness& h) {
  h.session->initialize(json::object{{"protocolVersion", "2025-11-25"},
                                     {"capabilities", {{"elicitation", json::object{}}}},
                                     {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
}

// A filter standing in for the PII policy on requests: the `text` argument
// is masked on its way to the server, and what it was before is recorded.
class MaskingFilter : public Filter {
 public:
  std::string_view name() const override { return "mask"; }
  Verdict on_request(json::object& params, CallContext&) override {
    auto* args = params.if_contains("arguments");
    auto* text = args && args->is_object() ? args->get_object().if_contains("text") : nullptr;
    saw.emplace_back(text && text->is_string() ? text->get_string() : "(none)");
    if (text) *text = "[masked]";
    return {};
  }
  std::vector<std::string> saw;
};

// The state of an asking round: the round it was ({"round":n}), or 0.
std::int64_t round_of(const RequestContext& ctx) {
  const json::value& st = ctx.request_state();
  if (!st.is_object() || !st.get_object().contains("round")) return 0;
  return st.get_object().at("round").to_number<std::int64_t>();
}

// An input_required asking one question, with the next round's state.
json::object ask_round(std::int64_t round) {
  json::object req{{"method", "elicitation/create"}, {"params", json::object{}}};
  return json::object{{"resultType", "input_required"},
                      {"inputRequests", json::object{{"q", std::move(req)}}},
                      {"requestState", json::object{{"round", round}}}};
}

// What each call of a test tool saw: its `text` argument (after the
// filters), and whether the engine kept the request's params as sent.
struct Seen {
  std::vector<std::string> text;
  std::vector<bool> kept;
  std::vector<std::string> kept_text;
};

void record(Seen& seen, const json::object& args, const RequestContext& ctx) {
  auto* t = args.if_contains("text");
  seen.text.emplace_back(t && t->is_string() ? t->get_string() : "(none)");
  const json::object* kept = ctx.pre_filter_params();
  seen.kept.push_back(kept != nullptr);
  if (kept) seen.kept_text.emplace_back(json::serialize(*kept));
}

// A tool that asks in two rounds, then answers; and one that answers at once.
std::shared_ptr<BuiltinBackend> rounds_backend(std::shared_ptr<Seen> seen) {
  auto b = std::make_shared<BuiltinBackend>("rounds");
  b->add_tool(json::object{{"name", "ask_twice"}},
              [seen](json::object args, RequestContext& ctx) -> asio::awaitable<protocol::Outcome> {
                record(*seen, args, ctx);
                const std::int64_t round = round_of(ctx);
                if (round < 2) co_return ask_round(round + 1);
                co_return text_result("done after " + std::to_string(round) + " rounds");
              });
  b->add_tool(
      json::object{{"name", "echo"}},
      [seen](json::object args, RequestContext& ctx) -> asio::awaitable<protocol::Outcome> {
        record(*seen, args, ctx);
        co_return text_result("echo");
      },
      BuiltinBackend::Asks::kNever);
  // Said it never asks, and asks all the same.
  b->add_tool(
      json::object{{"name", "liar"}},
      [seen](json::object args, RequestContext& ctx) -> asio::awaitable<protocol::Outcome> {
        record(*seen, args, ctx);
        co_return ask_round(1);
      },
      BuiltinBackend::Asks::kNever);
  return b;
}

json::object text_call(const std::string& tool) {
  return json::object{{"name", tool}, {"arguments", json::object{{"text", "SECRET"}}}};
}

// A Legacy session (it declared elicitation) with rounds_backend() and,
// unless told otherwise, the masking filter.
struct RoundsHarness : Harness {
  std::shared_ptr<Seen> seen = std::make_shared<Seen>();
  std::shared_ptr<MaskingFilter> mask = std::make_shared<MaskingFilter>();
  explicit RoundsHarness(bool masking = true) {
    engine.add_backend(rounds_backend(seen));
    if (masking) engine.filters().add(mask);
    start();
    initialize_legacy(*this);
  }
};

// A Legacy client's call answered input_required is called again with its
// params as the client sent them, every round: the request filters (the PII
// policy) see the unmasked text each time and mask it again, and the tool
// never sees the text unmasked.
TEST(Engine, ALegacyRetryRunsTheFiltersOnTheParamsAsSentEachRound) {
  RoundsHarness h;
  auto& seen = h.seen;
  auto& f = h.mask;
  int asked = 0;
  auto r = legacy_call_answering(h, text_call("ask_twice"), &asked);
  ASSERT_TRUE(r.contains("result")) << json::serialize(r);
  EXPECT_EQ(r.at("result").at("content").at(0).at("text"), "done after 2 rounds");
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(f->saw, (std::vector<std::string>{"SECRET", "SECRET", "SECRET"}));
  EXPECT_EQ(seen->text, (std::vector<std::string>{"[masked]", "[masked]", "[masked]"}));
  // What was kept is the request as sent, kept once.
  ASSERT_EQ(seen->kept, (std::vector<bool>{true, true, true}));
  for (const auto& k : seen->kept_text) EXPECT_NE(k.find("SECRET"), std::string::npos) << k;
}

// Only a route whose backend may ask keeps a copy of a Legacy call's params:
// the echo's call (and any Modern call, which has no retry of Bastion's)
// moves them on uncopied.
TEST(Engine, OnlyARouteThatMayAskKeepsALegacyCallsParams) {
  RoundsHarness h(/*masking=*/false);
  auto& seen = h.seen;
  auto echo = h.request("tools/call", text_call("echo"));
  ASSERT_TRUE(echo.contains("result")) << json::serialize(echo);
  auto modern = h.request("tools/call", modern_params(text_call("ask_twice")));
  ASSERT_TRUE(modern.contains("result")) << json::serialize(modern);
  EXPECT_EQ(modern.at("result").at("resultType"), "input_required");
  EXPECT_EQ(seen->kept, (std::vector<bool>{false, false}));
  EXPECT_FALSE(rounds_backend(seen)->may_ask(Kind::kTool, "echo"));
  EXPECT_TRUE(rounds_backend(seen)->may_ask(Kind::kTool, "ask_twice"));
}

// attack: a backend that said a route never asks (so nothing was kept) and
// answers input_required all the same is refused with an error saying so;
// the client is asked nothing and the call is not run again.
TEST(Engine, ABackendThatSaidItNeverAsksIsRefusedWhenItAsks) {
  RoundsHarness h;
  auto& seen = h.seen;
  auto& f = h.mask;
  int asked = 0;
  auto r = legacy_call_answering(h, text_call("liar"), &asked);
  ASSERT_TRUE(r.contains("error")) << json::serialize(r);
  EXPECT_EQ(r.at("error").at("code"), protocol::kInternalError);
  EXPECT_NE(std::string(r.at("error").at("message").as_string()).find("never asks"),
            std::string::npos)
      << json::serialize(r);
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(seen->text, (std::vector<std::string>{"[masked]"}));
  EXPECT_EQ(f->saw, (std::vector<std::string>{"SECRET"}));
}

}  // namespace
}  // namespace bastion::server
