#include "server/engine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

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
  std::shared_ptr<Mailbox> out;

  explicit Harness(EngineOptions o = {}) : engine(o) {}
  void start() {
    session = engine.create_session(protocol::Principal::anonymous());
    out = std::make_shared<Mailbox>(ioc.get_executor());
  }
  json::object request(const std::string& method, json::object params = {}) {
    static int id = 100;
    session->deliver(protocol::make_request(++id, method, std::move(params)), out,
                     ioc.get_executor());
    ioc.restart();
    ioc.run_for(std::chrono::seconds(2));
    for (;;) {
      auto m = out->try_pop();
      if (!m) return {};
      if (m->contains("id") && m->at("id") == json::value(id)) return *m;
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
  EXPECT_EQ(names, (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4", "t5", "other"}));
  auto bad = h.request("tools/list", json::object{{"cursor", "o999"}});
  EXPECT_EQ(bad.at("error").at("code").as_int64(), protocol::kInvalidParams);
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

}  // namespace
}  // namespace bastion::server
