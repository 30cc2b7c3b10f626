// IoWorkers: each loop is run by one thread of its own, connections are
// spread over all of them, and stop() ends the threads even with work queued.
#include "transport/io_workers.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "server/mailbox.hpp"

namespace bastion::transport {
namespace {

namespace asio = boost::asio;

// The thread that runs a handler posted to `ex`.
std::thread::id runner_of(const asio::any_io_executor& ex) {
  std::promise<std::thread::id> p;
  asio::post(ex, [&p] { p.set_value(std::this_thread::get_id()); });
  return p.get_future().get();
}

TEST(IoWorkers, EachLoopHasOneThreadOfItsOwnAndConnectionsGoToEveryLoopInTurn) {
  IoWorkers w(3);
  w.start();
  std::vector<asio::any_io_executor> picked;
  for (int i = 0; i < 9; ++i) picked.push_back(w.next());
  // Three loops, in turn: the 1st, 4th and 7th pick are one loop.
  std::map<const void*, int> loops;
  for (auto& ex : picked) ++loops[&asio::query(ex, asio::execution::context)];
  ASSERT_EQ(loops.size(), 3u);
  for (auto& [ctx, n] : loops) EXPECT_EQ(n, 3);
  EXPECT_TRUE(picked[0] == picked[3] && picked[3] == picked[6]);
  EXPECT_FALSE(picked[0] == picked[1]);
  // Every handler of a loop runs on the same thread, never the caller's, and
  // no two loops share a thread.
  std::set<std::thread::id> threads;
  for (int i = 0; i < 3; ++i) {
    std::thread::id t = runner_of(picked[i]);
    EXPECT_NE(t, std::this_thread::get_id());
    for (int k = 0; k < 20; ++k) EXPECT_EQ(runner_of(picked[i + 3 * (k % 3)]), t);
    threads.insert(t);
  }
  EXPECT_EQ(threads.size(), 3u);
  w.stop();
}

TEST(IoWorkers, StopEndsTheThreadsWithWorkStillWaitingAndRunsNothingAfter) {
  auto w = std::make_unique<IoWorkers>(2);
  w->start();
  auto ex = w->next();
  // A timer an hour away keeps the loop busy; stop() must not wait for it.
  asio::steady_timer t(ex, std::chrono::hours(1));
  bool fired = false;
  t.async_wait([&](auto) { fired = true; });
  w->stop();
  bool ran = false;
  auto held = std::make_shared<int>(0);
  asio::post(ex, [&ran, held] { ran = true; });  // queued on a stopped loop: never runs
  w->stop();                                     // twice is fine
  EXPECT_FALSE(ran);
  EXPECT_FALSE(fired);
  // Its queued handlers go before the loops do (what they hold is released),
  // without running.
  EXPECT_EQ(held.use_count(), 2);
  w->destroy_handlers();
  EXPECT_EQ(held.use_count(), 1);
  EXPECT_FALSE(ran);
  EXPECT_FALSE(fired);
}

// A mailbox on a worker loop uses the loop itself, no strand (the loop is
// marked server::OneThreadLoop): producers on other threads still hand
// every entry over, in each producer's order, and close() ends the consumer.
TEST(IoWorkers, AMailboxOnALoopTakesEveryEntryFromProducersOnOtherThreads) {
  IoWorkers w(2);
  auto ex = w.next();
  EXPECT_TRUE(boost::asio::has_service<server::OneThreadLoop>(
      ex.target<asio::io_context::executor_type>()->context()));
  w.start();
  constexpr int kProducers = 4, kEach = 5000;
  auto box = std::make_shared<server::Mailbox>(ex, kProducers * kEach);
  std::promise<std::vector<int>> got;
  asio::co_spawn(
      ex,
      [box, &got]() -> asio::awaitable<void> {
        std::vector<int> next(kProducers, 0);
        std::vector<int> bad;
        while (auto m = co_await box->pop()) {
          int p = static_cast<int>(m->at("p").as_int64()), i = static_cast<int>(m->at("i").as_int64());
          if (i != next[p]) bad.push_back(p * kEach + i);  // out of order or lost
          next[p] = i + 1;
        }
        for (int p = 0; p < kProducers; ++p)
          if (next[p] != kEach) bad.push_back(-1 - p);  // short
        got.set_value(bad);
      },
      asio::detached);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([box, p] {
      for (int i = 0; i < kEach; ++i) EXPECT_TRUE(box->push(boost::json::object{{"p", p}, {"i", i}}));
    });
  for (auto& t : producers) t.join();
  box->close();
  EXPECT_EQ(got.get_future().get(), std::vector<int>{});
  w.stop();
}

TEST(IoWorkers, RefusesZeroLoops) { EXPECT_THROW(IoWorkers(0), std::invalid_argument); }

}  // namespace
}  // namespace bastion::transport
