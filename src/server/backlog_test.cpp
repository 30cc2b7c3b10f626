#include "server/backlog.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <string>

#include "metrics/metrics.hpp"
#include "protocol/jsonrpc.hpp"
#include "server/engine.hpp"
#include "server/session.hpp"

namespace bastion::server {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

json::object line(int i, std::size_t pad = 200) {
  return protocol::make_notification(
      "notifications/message",
      json::object{{"level", "info"},
                   {"data", "flood " + std::to_string(i) + std::string(pad, 'x')}});
}

int index_of(const json::object& m) {
  std::string d(m.at("params").at("data").get_string());
  return std::stoi(d.substr(6));
}

double dropped(const std::string& reason) {
  std::string text = metrics::Metrics::global().render();
  std::string key = "bastion_notifications_dropped_total{reason=\"" + reason + "\"} ";
  auto at = text.find(key);
  return at == std::string::npos ? 0 : std::stod(text.substr(at + key.size()));
}

TEST(ApproxBytes, GrowsWithTheStringsAMessageCarries) {
  std::size_t small = approx_bytes(line(1, 0));
  std::size_t big = approx_bytes(line(1, 10000));
  EXPECT_GT(small, 0u);
  EXPECT_GE(big, small + 10000);
  EXPECT_LT(big, small + 10100);
}

TEST(Backlog, KeepsTheNewestWithinTheCount) {
  Backlog b(BacklogLimits{.messages = 10, .bytes = 1 << 30});
  std::size_t dropped = 0;
  for (int i = 0; i < 1000; ++i) dropped += b.push(line(i));
  EXPECT_EQ(dropped, 990u);
  auto got = b.take();
  ASSERT_EQ(got.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(index_of(got[i]), 990 + i);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.bytes(), 0u);
}

TEST(Backlog, AnEmptyBacklogTakesNothingAndStillHoldsAfterwards) {
  Backlog b(BacklogLimits{.messages = 2, .bytes = 1 << 20});
  EXPECT_TRUE(b.take().empty());
  EXPECT_TRUE(b.take().empty());
  EXPECT_EQ(b.push(line(1)), 0u);
  EXPECT_EQ(b.push(line(2)), 0u);
  EXPECT_EQ(b.push(line(3)), 1u);
  auto got = b.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(index_of(got[0]), 2);
  EXPECT_EQ(index_of(got[1]), 3);
  EXPECT_TRUE(b.take().empty());
  EXPECT_EQ(b.bytes(), 0u);
}

TEST(Backlog, KeepsTheNewestWithinTheBytes) {
  const std::size_t limit = 64 * 1024;
  Backlog b(BacklogLimits{.messages = 1000000, .bytes = limit});
  std::size_t dropped = 0;
  for (int i = 0; i < 100000; ++i) {
    dropped += b.push(line(i, 1000));
    ASSERT_LE(b.bytes(), limit);
  }
  std::size_t held = b.size();
  EXPECT_GT(held, 40u);  // about 64 KiB of ~1.1 KB messages
  EXPECT_LT(held, 64u);
  EXPECT_EQ(dropped + held, 100000u);
  auto got = b.take();
  EXPECT_EQ(index_of(got.back()), 99999);
  EXPECT_EQ(index_of(got.front()), static_cast<int>(100000 - held));
}

TEST(Backlog, AMessageLargerThanTheWholeBoundIsNotHeld) {
  Backlog b(BacklogLimits{.messages = 100, .bytes = 4096});
  EXPECT_EQ(b.push(line(1, 10)), 0u);
  EXPECT_EQ(b.push(line(2, 100000)), 2u);  // it and everything before it
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.bytes(), 0u);
  EXPECT_EQ(b.push(line(3, 10)), 0u);
  EXPECT_EQ(b.size(), 1u);
}

// A session no stream is attached to, flooded: it holds no more than its
// bound, counts what it dropped, hands the newest to the stream that
// attaches, and holds nothing once closed.
TEST(SessionBacklog, AFloodForASessionWithoutAStreamStaysBounded) {
  asio::io_context ioc;
  EngineOptions opts;
  opts.standalone_backlog = BacklogLimits{.messages = 100, .bytes = 32 * 1024};
  Engine engine(opts);
  auto s = engine.create_session(protocol::Principal::anonymous());
  const double before = dropped("no_stream");
  for (int i = 0; i < 20000; ++i) {
    s->notify(line(i));
    ASSERT_LE(s->backlog_bytes(), 32u * 1024);
  }
  EXPECT_GT(s->backlog_bytes(), 16u * 1024);
  EXPECT_EQ(engine.backlog_bytes(), s->backlog_bytes());

  auto out = std::make_shared<Outbox>(ioc.get_executor());
  s->attach_standalone(out);
  EXPECT_EQ(s->backlog_bytes(), 0u);
  std::vector<int> got;
  while (auto m = out->try_pop()) got.push_back(index_of(*m->message));
  ASSERT_FALSE(got.empty());
  EXPECT_LE(got.size(), 100u);
  EXPECT_EQ(got.back(), 19999);
  for (std::size_t i = 1; i < got.size(); ++i) EXPECT_EQ(got[i], got[i - 1] + 1);
  EXPECT_EQ(dropped("no_stream") - before, 20000.0 - static_cast<double>(got.size()));

  // Detached again, it fills up again; closing the session lets it all go.
  s->detach_standalone(out);
  for (int i = 0; i < 1000; ++i) s->notify(line(i));
  EXPECT_GT(s->backlog_bytes(), 0u);
  engine.close_session(s->id());
  EXPECT_EQ(s->backlog_bytes(), 0u);
  s->notify(line(0));
  EXPECT_EQ(s->backlog_bytes(), 0u);
  EXPECT_EQ(engine.backlog_bytes(), 0u);
}

// A queue that a flood has filled still takes the response that ends a
// request, so a flood cannot make a call go unanswered.
TEST(OutboxBound, AFullQueueRefusesNotificationsButNeverAResponse) {
  asio::io_context ioc;
  auto out = std::make_shared<Outbox>(ioc.get_executor(), 8);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(out->push(Outgoing(line(i))));
  EXPECT_FALSE(out->push(Outgoing(line(8))));
  EXPECT_TRUE(out->push(Outgoing::response(protocol::make_result(json::value(1), json::object{}))));
  EXPECT_TRUE(out->push(Outgoing::end_without_response()));
  int responses = 0;
  while (auto m = out->try_pop()) responses += m->ends_request ? 1 : 0;
  EXPECT_EQ(responses, 2);
  out->close();
  EXPECT_FALSE(
      out->push(Outgoing::response(protocol::make_result(json::value(2), json::object{}))));
}

}  // namespace
}  // namespace bastion::server

namespace bastion::server {
namespace {

// A consumer on the mailbox's own strand drains a deep queue (an upstream's
// flood toward one request, faster than the client reads): every pop() finds
// an entry ready. Each used to hop to the strand and back inline, one stack
// level deeper per entry, until the stack overflowed (SIGSEGV at ~8,000).
TEST(MailboxDrain, ADeepQueueDrainsWithoutGrowingTheStack) {
  asio::io_context ioc;
  auto strand = asio::make_strand(ioc);
  auto box = std::make_shared<Outbox>(strand, 200000);
  for (int i = 0; i < 200000; ++i) ASSERT_TRUE(box->push(Outgoing(line(i, 0))));
  box->close();
  int drained = 0;
  asio::co_spawn(
      strand,
      [&]() -> asio::awaitable<void> {
        while (auto m = co_await box->pop()) ++drained;
      },
      asio::detached);
  ioc.run();
  EXPECT_EQ(drained, 200000);
}

// A mailbox used as a queue for a long time, never empty: its entries come
// out in the order they went in while its storage grows, and while the
// front it has freed is reused for what is pushed at the back.
TEST(MailboxDrain, AQueueThatIsNeverEmptyKeepsItsOrder) {
  asio::io_context ioc;
  auto box = std::make_shared<Outbox>(ioc.get_executor(), 100000);
  int pushed = 0;
  int next = 0;
  bool in_order = true;
  auto take = [&] {
    auto m = box->try_pop();
    if (!m || index_of(*m->message) != next) in_order = false;
    ++next;
  };
  // Three in, one out: the queue grows to 20,000 entries...
  for (int round = 0; round < 10000; ++round) {
    for (int k = 0; k < 3; ++k) ASSERT_TRUE(box->push(Outgoing(line(pushed++, 0))));
    take();
  }
  // ...then one in, one out around a full front and back, then the rest.
  for (int round = 0; round < 50000; ++round) {
    ASSERT_TRUE(box->push(Outgoing(line(pushed++, 0))));
    take();
  }
  while (next < pushed) take();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(next, 80000);
  EXPECT_FALSE(box->try_pop());
}

}  // namespace
}  // namespace bastion::server

namespace bastion::server {
namespace {

// Every upstream restart announces its lists again to every session; a
// session without a stream holds one such notice, not one per restart.
TEST(Backlog, HoldsOneOfEachRepeatedChangeNotice) {
  auto changed = [](const char* what) {
    return protocol::make_notification(std::string("notifications/") + what + "/list_changed", {});
  };
  auto updated = [](const char* uri) {
    return protocol::make_notification("notifications/resources/updated",
                                       json::object{{"uri", uri}});
  };
  Backlog b;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(b.push(changed("tools")), 0u);
    EXPECT_EQ(b.push(changed("prompts")), 0u);
    EXPECT_EQ(b.push(updated("file:///a")), 0u);
  }
  EXPECT_EQ(b.size(), 3u);
  b.push(updated("file:///b"));  // another resource: another notice
  EXPECT_EQ(b.size(), 4u);
  // Log lines are not notices of change: each one counts.
  b.push(line(1));
  b.push(line(1));
  EXPECT_EQ(b.size(), 6u);
  b.take();
  b.push(changed("tools"));  // held again once taken
  EXPECT_EQ(b.size(), 1u);
}

}  // namespace
}  // namespace bastion::server
