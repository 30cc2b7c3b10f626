#include "auth/record_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using testing::FakeClock;
using testing::TempDir;
namespace json = boost::json;

TEST(RecordStore, CreateIsCreateIfAbsentAndFilesArePrivate) {
  TempDir tmp;
  FakeClock clock;
  RecordStore s(tmp.path() / "r", {.durable = false}, clock);
  EXPECT_TRUE(s.create("k1", json::object{{"a", 1}}, clock() + 60).value());
  EXPECT_FALSE(s.create("k1", json::object{{"a", 2}}, clock() + 60).value());
  EXPECT_EQ(s.get("k1")->at("a").as_int64(), 1);
  EXPECT_FALSE(s.get("k2"));
  // The key never appears on disk; the file is 0600.
  for (const auto& e : std::filesystem::directory_iterator(s.dir())) {
    EXPECT_EQ(e.path().filename().string().find("k1"), std::string::npos);
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    if (e.path().filename() != ".lock") {
      EXPECT_EQ(st.st_mode & 0777, 0600u);
    }
  }
}

TEST(RecordStore, ExpiredRecordsAreGoneAndPruned) {
  TempDir tmp;
  FakeClock clock;
  RecordStore s(tmp.path() / "r", {.durable = false}, clock);
  ASSERT_TRUE(s.create("k", json::object{{"a", 1}}, clock() + 10).value());
  EXPECT_EQ(s.count(), 1u);
  clock.advance(10);
  EXPECT_FALSE(s.get("k"));
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.take("k").state, RecordStore::Taken::State::kAbsent);
  EXPECT_EQ(s.prune(), 1u);
  EXPECT_EQ(s.prune(), 0u);
}

TEST(RecordStore, TakeIsOneTimeAndReportsReplay) {
  TempDir tmp;
  FakeClock clock;
  RecordStore s(tmp.path() / "r", {.durable = false}, clock);
  ASSERT_TRUE(s.create("code", json::object{{"family", "f1"}}, clock() + 60).value());
  auto first = s.take("code");
  EXPECT_EQ(first.state, RecordStore::Taken::State::kTaken);
  EXPECT_EQ(first.record.at("family").as_string(), "f1");
  auto again = s.take("code");
  EXPECT_EQ(again.state, RecordStore::Taken::State::kReplayed);
  EXPECT_EQ(again.record.at("family").as_string(), "f1");
  // A used key cannot be created again (a replayed code stays dead).
  EXPECT_FALSE(s.create("code", json::object{}, clock() + 60).value());
  clock.advance(61);
  EXPECT_EQ(s.take("code").state, RecordStore::Taken::State::kAbsent);
}

TEST(RecordStore, ConcurrentTakersExactlyOneWins) {
  TempDir tmp;
  FakeClock clock;
  for (int round = 0; round < 20; ++round) {
    // Two stores on one directory stand for two replicas.
    RecordStore a(tmp.path() / "r", {.durable = false}, clock);
    RecordStore b(tmp.path() / "r", {.durable = false}, clock);
    std::string key = "k" + std::to_string(round);
    ASSERT_TRUE(a.create(key, json::object{{"n", round}}, clock() + 60).value());
    std::atomic<int> taken{0}, replayed{0};
    auto run = [&](RecordStore& s) {
      auto t = s.take(key);
      if (t.state == RecordStore::Taken::State::kTaken) ++taken;
      if (t.state == RecordStore::Taken::State::kReplayed) ++replayed;
    };
    std::thread t1([&] { run(a); }), t2([&] { run(b); });
    t1.join();
    t2.join();
    EXPECT_EQ(taken.load(), 1);
    EXPECT_EQ(replayed.load(), 1);
  }
}

TEST(RecordStore, UpdateIsReadModifyWrite) {
  TempDir tmp;
  FakeClock clock;
  RecordStore a(tmp.path() / "r", {}, clock), b(tmp.path() / "r", {}, clock);
  auto inc = [&](std::optional<json::object> cur) -> std::optional<RecordStore::Versioned> {
    std::int64_t n = cur ? cur->at("n").as_int64() : 0;
    return RecordStore::Versioned{json::object{{"n", n + 1}}, clock() + 100};
  };
  std::thread t1([&] {
    for (int i = 0; i < 25; ++i) ASSERT_TRUE(a.update("ctr", inc));
  });
  std::thread t2([&] {
    for (int i = 0; i < 25; ++i) ASSERT_TRUE(b.update("ctr", inc));
  });
  t1.join();
  t2.join();
  EXPECT_EQ(a.get("ctr")->at("n").as_int64(), 50);
  // Returning nullopt deletes.
  ASSERT_TRUE(a.update("ctr", [](auto) { return std::optional<RecordStore::Versioned>{}; }));
  EXPECT_FALSE(b.get("ctr"));
}

TEST(RecordStore, ListAndRemove) {
  TempDir tmp;
  FakeClock clock;
  RecordStore s(tmp.path() / "r", {}, clock);
  ASSERT_TRUE(s.create("a", json::object{{"id", "a"}}, clock() + 60).value());
  ASSERT_TRUE(s.create("b", json::object{{"id", "b"}}, clock() + 60).value());
  EXPECT_EQ(s.list().size(), 2u);
  EXPECT_TRUE(s.remove("a"));
  EXPECT_FALSE(s.remove("a"));
  auto l = s.list();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].at("id").as_string(), "b");
}

TEST(RecordStore, CorruptOrOpenFilesAreNotRead) {
  TempDir tmp;
  FakeClock clock;
  RecordStore s(tmp.path() / "r", {}, clock);
  ASSERT_TRUE(s.create("a", json::object{{"id", "a"}}, clock() + 60).value());
  auto file = s.dir() / (record_name("a") + ".json");
  ::chmod(file.c_str(), 0644);
  EXPECT_FALSE(s.get("a"));  // readable by others: refused
}

}  // namespace
}  // namespace bastion::auth
