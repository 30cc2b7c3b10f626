#include "transport/sse.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace bastion::transport {
namespace {

namespace asio = boost::asio;

TEST(Sse, ParsesEventIds) {
  auto p = parse_event_id("12-34");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->first, "12");
  EXPECT_EQ(p->second, 34u);
  EXPECT_EQ(parse_event_id("a-b-7")->first, "a-b");  // the last dash splits
  for (const char* bad : {"", "12", "-3", "12-", "12-x", "12-99999999999999999999", "1-2 "})
    EXPECT_FALSE(parse_event_id(bad)) << bad;
}

TEST(Sse, FormatsEvents) {
  asio::io_context ioc;
  EventStream es(ioc.get_executor(), "3");
  std::vector<EventStream::Event> events{{1, R"({"a":1})"}, {2, R"({"b":2})"}};
  EXPECT_EQ(format_events(es, events),
            "id: 3-1\nevent: message\ndata: {\"a\":1}\n\n"
            "id: 3-2\nevent: message\ndata: {\"b\":2}\n\n");
  EXPECT_EQ(format_events(es, {}), "");
}

// What a stream keeps for resumption is bounded by bytes as well as count;
// the newest event (a POST's response comes last) is always kept.
TEST(Sse, AStreamKeepsTheNewestEventsWithinItsBytes) {
  asio::io_context ioc;
  auto es = std::make_shared<EventStream>(ioc.get_executor(), "s", 1024, 10000);
  for (int i = 0; i < 1000; ++i) es->append(std::string(100, 'x'));
  es->append(std::string(50000, 'r'));  // larger than the whole bound
  EventStream::Batch after_flood, after_big;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        after_flood = co_await es->wait_after(0, std::chrono::milliseconds(0));
        after_big = co_await es->wait_after(1000, std::chrono::milliseconds(0));
      },
      asio::detached);
  ioc.run();
  EXPECT_TRUE(after_flood.gap);
  ASSERT_EQ(after_flood.events.size(), 1u);  // only the big one is left
  EXPECT_EQ(after_flood.events[0].seq, 1001u);
  ASSERT_EQ(after_big.events.size(), 1u);
  EXPECT_EQ(after_big.events[0].data.size(), 50000u);

  auto small = std::make_shared<EventStream>(ioc.get_executor(), "t", 1024, 10000);
  for (int i = 0; i < 1000; ++i) small->append(std::string(100, 'x'));
  EventStream::Batch b;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        b = co_await small->wait_after(0, std::chrono::milliseconds(0));
      },
      asio::detached);
  ioc.restart();
  ioc.run();
  EXPECT_TRUE(b.gap);
  EXPECT_EQ(b.events.size(), 100u);  // 100 x 100 bytes
  EXPECT_EQ(b.events.back().seq, 1000u);
}

TEST(Sse, OneStandaloneHolderAtATime) {
  asio::io_context ioc;
  SessionStreams s;
  bool created = false;
  std::uint64_t delivered = 99;
  auto first = s.claim_standalone(ioc.get_executor(), created, delivered);
  ASSERT_TRUE(first);
  EXPECT_TRUE(created);
  EXPECT_EQ(delivered, 0u);
  EXPECT_FALSE(s.claim_standalone(ioc.get_executor(), created, delivered));  // 409
  s.release_standalone(5);
  auto again = s.claim_standalone(ioc.get_executor(), created, delivered);
  EXPECT_EQ(again, first);  // the same stream: nothing buffered is lost
  EXPECT_FALSE(created);
  EXPECT_EQ(delivered, 5u);  // and nothing delivered is repeated
  s.release_standalone(3);   // an older connection finishing late does not rewind
  s.claim_standalone(ioc.get_executor(), created, delivered);
  EXPECT_EQ(delivered, 5u);
}

TEST(Sse, OldStreamsAreForgottenButNotTheStandaloneOne) {
  asio::io_context ioc;
  SessionStreams s;
  bool created;
  std::uint64_t delivered;
  auto standalone = s.claim_standalone(ioc.get_executor(), created, delivered);
  auto first = s.create(ioc.get_executor());
  for (std::size_t i = 0; i < SessionStreams::kMaxStreams; ++i) s.create(ioc.get_executor());
  EXPECT_FALSE(s.find(first->id()));
  EXPECT_EQ(s.find(standalone->id()), standalone);
}

// A client that makes call after call answered as large SSE streams: what
// its session keeps for resumption stays within kMaxBytes, the oldest
// finished streams forgotten first, never one still running nor the
// standalone one nor the newest.
TEST(Sse, ASessionKeepsAtMostItsBytesOfFinishedStreams) {
  asio::io_context ioc;
  auto s = std::make_shared<SessionStreams>();
  const std::string big(900 * 1024, 'x');
  bool created;
  std::uint64_t delivered;
  auto standalone = s->claim_standalone(ioc.get_executor(), created, delivered);
  standalone->append(big);
  auto running = s->create(ioc.get_executor());
  running->append(big);
  auto first = s->create(ioc.get_executor());
  first->append(big);
  first->finish();
  std::shared_ptr<EventStream> last;
  for (int i = 0; i < 40; ++i) {
    last = s->create(ioc.get_executor());
    // As the endpoint does: a pump fills the stream and finishes it.
    auto out = std::make_shared<server::Outbox>(ioc.get_executor());
    pump(out, last, 1, ioc.get_executor(), s);
    out->push(server::Outgoing::response(boost::json::object{{"big", big}}));
    ioc.restart();
    ioc.run();
    ASSERT_TRUE(last->finished());
    EXPECT_LE(s->bytes(), SessionStreams::kMaxBytes) << "after stream " << i;
  }
  EXPECT_FALSE(s->find(first->id())) << "the oldest finished stream is forgotten first";
  EXPECT_EQ(s->find(last->id()), last);
  EXPECT_EQ(s->find(running->id()), running);
  EXPECT_EQ(s->find(standalone->id()), standalone);
  // The newest is kept whatever it holds.
  SessionStreams tight(1024);
  auto one = tight.create(ioc.get_executor());
  one->append(big);
  one->finish();
  tight.trim();
  EXPECT_EQ(tight.find(one->id()), one);
}

TEST(Sse, TableForgetsClosedSessions) {
  StreamTable t;
  auto a = t.get("a", [] { return false; });
  EXPECT_EQ(t.get("a", [] { return false; }), a);
  EXPECT_EQ(t.size(), 1u);
  t.drop("a");  // the engine's close notice
  EXPECT_EQ(t.size(), 0u);
  // A session that closed before its entry was made leaves none behind.
  auto late = t.get("b", [] { return true; });
  EXPECT_TRUE(late);
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace bastion::transport
