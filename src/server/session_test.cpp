#include "server/session.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/builtin_backend.hpp"
#include "server/engine.hpp"

namespace bastion::server {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// A session on a real engine with one backend whose tools report progress,
// wait, or answer at once; the test reads the typed outbox a transport sees.
struct Fixture {
  asio::io_context ioc;
  Engine engine{EngineOptions{}};
  std::shared_ptr<Session> session;
  std::shared_ptr<Outbox> out;
  std::optional<protocol::Outcome> asked;

  Fixture() {
    auto b = std::make_shared<BuiltinBackend>("t");
    b->add_tool(json::object{{"name", "chatty"}},
                [](json::object, RequestContext& ctx) -> asio::awaitable<protocol::Outcome> {
                  ctx.progress(1, 2);
                  ctx.progress(2, 2);
                  co_return text_result("done");
                });
    b->add_tool(json::object{{"name", "slow"}},
                [](json::object, RequestContext&) -> asio::awaitable<protocol::Outcome> {
                  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(5));
                  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
                  co_return text_result("late");
                });
    // Asks the client something on the side (as a relayed upstream request
    // does) and finishes without waiting for the answer.
    b->add_tool(json::object{{"name", "asker"}},
                [this](json::object, RequestContext& ctx) -> asio::awaitable<protocol::Outcome> {
                  // The executor first: GCC 12 mishandles a lambda temporary
                  // in a full-expression that also holds a co_await (the
                  // closure's captures were released early).
                  auto ex = co_await asio::this_coro::executor;
                  asio::co_spawn(
                      ex,
                      [c = ctx.shared_from_this(), this]() -> asio::awaitable<void> {
                        asked = co_await c->client_request("sampling/createMessage", {});
                      },
                      asio::detached);
                  asio::steady_timer t(co_await asio::this_coro::executor,
                                       std::chrono::milliseconds(20));
                  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
                  co_return text_result("done");
                });
    // A flood of large notifications beside one call (a hostile upstream's
    // 100 KB log lines toward a client that does not read).
    b->add_tool(json::object{{"name", "flood"}},
                [](json::object, RequestContext& ctx) -> asio::awaitable<protocol::Outcome> {
                  for (int i = 0; i < 100; ++i)
                    ctx.notify(protocol::make_notification(
                        "notifications/message",
                        json::object{{"level", "info"}, {"data", std::string(100000, 'x')}}));
                  co_return text_result("done");
                });
    engine.add_backend(b);
    session = engine.create_session(protocol::Principal::anonymous());
    out = std::make_shared<Outbox>(ioc.get_executor());
  }
  void send(json::object msg) { session->deliver(std::move(msg), out, ioc.get_executor()); }
  void run() {
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(200));
  }
  std::vector<Outgoing> drain() {
    std::vector<Outgoing> v;
    while (auto m = out->try_pop()) v.push_back(std::move(*m));
    return v;
  }
};

json::object call(int id, const char* tool, json::value token = nullptr) {
  json::object params{{"name", tool}, {"arguments", json::object{}}};
  if (!token.is_null()) params["_meta"] = json::object{{"progressToken", token}};
  return protocol::make_request(id, "tools/call", std::move(params));
}

TEST(Outbox, OnlyTheResponseEndsARequest) {
  Fixture f;
  f.send(call(1, "chatty", "tok"));
  f.run();
  auto got = f.drain();
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(got[i].ends_request);
    EXPECT_EQ(got[i].message->at("method"), "notifications/progress");
  }
  EXPECT_TRUE(got[2].ends_request);
  ASSERT_TRUE(got[2].message);
  EXPECT_EQ(got[2].message->at("id"), json::value(1));
  EXPECT_TRUE(got[2].message->contains("result"));
}

// An outbox with a byte capacity (a Modern request's) holds notifications up
// to it (one larger than all of it when nothing else is queued), never
// refuses the response, and frees the room as they are taken.
TEST(Outbox, ByteCapacityBoundsNotificationsNeverTheResponse) {
  asio::io_context ioc;
  auto owned = std::make_shared<Outbox>(ioc.get_executor(), 10000, 1000);  // wake() needs it shared
  Outbox& box = *owned;
  auto note = [](std::size_t bytes) {
    Outgoing o(json::object{{"method", "n"}});
    o.budgeted = bytes;
    return o;
  };
  EXPECT_TRUE(box.push(note(400)));
  EXPECT_TRUE(box.push(note(400)));
  EXPECT_FALSE(box.push(note(400)));  // 1,200 > 1,000
  EXPECT_TRUE(box.push(Outgoing::response(json::object{{"id", 1}})));
  ASSERT_TRUE(box.try_pop());
  EXPECT_TRUE(box.push(note(400)));  // room again
  while (box.try_pop()) {
  }
  EXPECT_TRUE(box.push(note(5000)));  // alone: taken whole
  EXPECT_FALSE(box.push(note(1)));
  ASSERT_TRUE(box.try_pop());
  EXPECT_TRUE(box.push(note(1)));
  // Without a byte capacity sizes do not count.
  auto plain = std::make_shared<Outbox>(ioc.get_executor());
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(plain->push(note(1u << 30)));
}

// attack: a tool (an upstream) floods 100 notifications of 100 KB toward a
// request whose client does not read: a byte-bounded outbox (1 MiB) holds
// about 1 MiB of them and the response; a plain one holds them all.
TEST(Outbox, ALargeNotificationFloodIsBoundedByBytes) {
  Fixture f;
  f.out = std::make_shared<Outbox>(f.ioc.get_executor(), 10000, 1u << 20);
  f.send(call(3, "flood"));
  f.run();
  auto got = f.drain();
  ASSERT_FALSE(got.empty());
  EXPECT_TRUE(got.back().ends_request);
  EXPECT_LE(got.size(), 12u);  // ~10 of 100 KB, and the response
  EXPECT_GE(got.size(), 9u);
  // approx_json_bytes is close to the text's size.
  const std::size_t text = json::serialize(*got.front().message).size();
  const std::size_t approx = approx_json_bytes(*got.front().message);
  EXPECT_GE(approx, text * 9 / 10);
  EXPECT_LE(approx, text * 11 / 10);
}

TEST(Outbox, ACancelledRequestEndsWithoutAResponse) {
  Fixture f;
  f.send(call(7, "slow"));
  f.run();
  f.send(protocol::make_notification("notifications/cancelled", json::object{{"requestId", 7}}));
  f.run();
  auto got = f.drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].ends_request);
  EXPECT_FALSE(got[0].message);  // nothing to write, but the stream may finish
}

// A cancellation finds the request whose id is the same JSON value: the
// number 7 and the string "7" are two requests; negative, zero and the
// largest unsigned ids are found too.
TEST(Outbox, ACancellationFindsTheRequestWithTheSameIdOnly) {
  Fixture f;
  const std::vector<json::value> ids{7,
                                     "7",
                                     -5,
                                     0,
                                     json::value(std::uint64_t{18446744073709551615ull}),
                                     json::value(std::int64_t{-9223372036854775807ll - 1})};
  for (const auto& id : ids)
    f.send(protocol::make_request(id, "tools/call",
                                  json::object{{"name", "slow"}, {"arguments", json::object{}}}));
  f.run();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    f.send(protocol::make_notification("notifications/cancelled",
                                       json::object{{"requestId", ids[i]}}));
    f.run();
    auto got = f.drain();
    ASSERT_EQ(got.size(), 1u) << "cancelling id " << json::serialize(ids[i]);
    EXPECT_TRUE(got[0].ends_request);
    EXPECT_FALSE(got[0].message);
  }
}

TEST(Outbox, AFinishedRequestWithdrawsItsOpenClientRequestsBeforeItsResponse) {
  Fixture f;
  f.send(call(4, "asker"));
  f.run();
  auto got = f.drain();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].message->at("method"), "sampling/createMessage");
  json::value asked_id = got[0].message->at("id");
  EXPECT_EQ(got[1].message->at("method"), "notifications/cancelled");
  EXPECT_EQ(got[1].message->at("params").at("requestId"), asked_id);
  EXPECT_FALSE(got[1].ends_request);
  EXPECT_TRUE(got[2].ends_request);
  EXPECT_EQ(got[2].message->at("id"), json::value(4));
  // The asker is told, and a late answer from the client finds nothing.
  ASSERT_TRUE(f.asked);
  EXPECT_EQ(f.asked->error().code, protocol::kRequestCancelled);
  f.send(protocol::make_result(asked_id, json::object{}));
  f.run();
  EXPECT_TRUE(f.drain().empty());
}

TEST(Outbox, AnInvalidMessageIsAnsweredAndEndedOnce) {
  Fixture f;
  f.send(json::object{{"jsonrpc", "1.0"}, {"id", 3}, {"method", "ping"}});
  f.send(json::object{{"jsonrpc", "1.0"}, {"method", "ping"}});
  auto got = f.drain();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].ends_request);  // it had an id: the error is its answer
  EXPECT_EQ(got[0].message->at("id"), json::value(3));
  EXPECT_FALSE(got[1].ends_request);  // no id: nothing was waiting for it
  EXPECT_TRUE(got[1].message->at("id").is_null());
}

TEST(Outbox, ServerInitiatedMessagesGoToTheStandaloneStreamUnfinal) {
  Fixture f;
  auto standalone = std::make_shared<Outbox>(f.ioc.get_executor());
  f.session->notify(protocol::make_notification("notifications/early", {}));  // queued
  f.session->attach_standalone(standalone);
  f.session->notify(protocol::make_notification("notifications/late", {}));
  std::vector<std::string> methods;
  while (auto m = standalone->try_pop()) {
    EXPECT_FALSE(m->ends_request);
    methods.emplace_back(m->message->at("method").as_string());
  }
  EXPECT_EQ(methods, (std::vector<std::string>{"notifications/early", "notifications/late"}));
}

}  // namespace
}  // namespace bastion::server

namespace bastion::server {
namespace {

json::object initialize(int id, const char* version) {
  return protocol::make_request(
      id, "initialize",
      json::object{{"protocolVersion", version},
                   {"capabilities", json::object{}},
                   {"clientInfo", json::object{{"name", "t"}, {"version", "1"}}}});
}

TEST(SessionLifecycle, InitializeOnceEvenBeforeInitialized) {
  Fixture f;
  EXPECT_FALSE(f.session->negotiated());
  f.send(initialize(1, "2025-06-18"));
  f.run();
  f.send(initialize(2, "2025-03-26"));  // no notifications/initialized in between
  f.run();
  auto got = f.drain();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].message->at("result").at("protocolVersion"), "2025-06-18");
  EXPECT_EQ(got[1].message->at("error").at("code"), json::value(protocol::kInvalidRequest));
  EXPECT_EQ(f.session->protocol_version(), "2025-06-18");  // not renegotiated
  EXPECT_TRUE(f.session->negotiated());
}

TEST(SessionLifecycle, AFailedInitializeNegotiatesNothing) {
  Fixture f;
  f.send(protocol::make_request(1, "initialize", json::object{{"protocolVersion", 7}}));
  f.run();
  EXPECT_FALSE(f.session->negotiated());
  f.send(initialize(2, "2025-11-25"));
  f.run();
  auto got = f.drain();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[1].message->contains("result"));
}

TEST(SessionLifecycle, BatchesOnlyAfterNegotiating20250326) {
  Fixture before;
  EXPECT_FALSE(before.session->allows_batches());  // the default version is not a negotiation
  Fixture old;
  old.send(initialize(1, "2025-03-26"));
  old.run();
  EXPECT_TRUE(old.session->allows_batches());
  Fixture modern;
  modern.send(initialize(1, "2025-06-18"));
  modern.run();
  EXPECT_FALSE(modern.session->allows_batches());
}

// A session belongs to the caller that opened it: the same issuer, subject
// and client (users of one public client app share its client_id), whatever
// scopes its token holds now.
TEST(SessionOwner, OnlyTheCallerThatOpenedItOwnsIt) {
  Engine engine({});
  protocol::Principal alice{"https://as", "alice", "app", {"mcp.access"}, true};
  auto s = engine.create_session(alice);
  protocol::Principal narrowed = alice;
  narrowed.scopes = {"mcp:server:x"};
  EXPECT_TRUE(s->belongs_to(alice));
  EXPECT_TRUE(s->belongs_to(narrowed));
  protocol::Principal bob = alice, other_issuer = alice, other_client = alice;
  bob.subject = "bob";
  other_issuer.issuer = "https://elsewhere";
  other_client.client_id = "other-app";
  EXPECT_FALSE(s->belongs_to(bob));
  EXPECT_FALSE(s->belongs_to(other_issuer));
  EXPECT_FALSE(s->belongs_to(other_client));
  EXPECT_FALSE(s->belongs_to(protocol::Principal::anonymous()));
  // An anonymous session (auth off) is not a token holder's either.
  auto open = engine.create_session(protocol::Principal::anonymous());
  EXPECT_TRUE(open->belongs_to(protocol::Principal::anonymous()));
  EXPECT_FALSE(open->belongs_to(alice));
}

// The caller a request is served with: its own token's scopes, shared with
// nothing to allocate while they are the session's first.
TEST(SessionOwner, ARequestCarriesItsOwnScopes) {
  Engine engine({});
  protocol::Principal alice{"https://as", "alice", "app", {"a", "b"}, true};
  auto s = engine.create_session(alice);
  EXPECT_EQ(s->caller()->scopes, alice.scopes);
  protocol::Principal narrowed = alice;
  narrowed.scopes = {"a"};
  auto first = s->admit_caller(narrowed);
  EXPECT_EQ(first->scopes, narrowed.scopes);
  EXPECT_EQ(s->admit_caller(narrowed), first);  // the same token again: shared
  EXPECT_EQ(s->caller()->scopes, narrowed.scopes);
  EXPECT_EQ(s->admit_caller(alice)->scopes, alice.scopes);
  EXPECT_EQ(s->caller()->scopes, alice.scopes);
}

}  // namespace
}  // namespace bastion::server
