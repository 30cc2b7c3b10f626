// IoWorkers: each loop is run by one thread of its own (the main loop by its
// owner's), connections are spread over all of them, and stop() ends the
// workers' threads even with work queued.
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

// The main loop, run by a thread of the test's own as App::serve runs io_.
struct MainLoop {
  IoLoop loop{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(loop);
  std::thread thread{[this] { loop.run(); }};
  ~MainLoop() {
    guard.reset();
    loop.stop();
    thread.join();
  }
};

TEST(IoWorkers, EachLoopHasOneThreadOfItsOwnAndConnectionsGoToEveryLoopInTurn) {
  MainLoop main;
  IoWorkers w(main.loop, 3);
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
  // The main loop is one of them, the first, marked as run by one thread.
  EXPECT_EQ(&asio::query(picked[0], asio::execution::context), &main.loop);
  EXPECT_TRUE(asio::has_service<server::OneThreadLoop>(main.loop));
  EXPECT_EQ(runner_of(picked[0]), main.thread.get_id());
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
  IoLoop main(1);  // its owner's to run: not here
  auto w = std::make_unique<IoWorkers>(main, 2);
  w->start();
  (void)w->next();  // the main loop
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
  IoLoop main(1);
  IoWorkers w(main, 2);
  (void)w.next();  // the main loop
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
          int p = static_cast<int>(m->at("p").as_int64()),
              i = static_cast<int>(m->at("i").as_int64());
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
      for (int i = 0; i < kEach; ++i)
        EXPECT_TRUE(box->push(boost::json::object{{"p", p}, {"i", i}}));
    });
  for (auto& t : producers) t.join();
  box->close();
  EXPECT_EQ(got.get_future().get(), std::vector<int>{});
  w.stop();
}

TEST(IoWorkers, RefusesZeroLoops) {
  IoLoop main(1);
  EXPECT_THROW(IoWorkers(main, 0), std::invalid_argument);
}

}  // namespace
}  // namespace bastion::transport
