#include "gateway/pending_table.hpp"

#include <gtest/gtest.h>

#include <set>

namespace bastion::gateway {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

PendingLimits limits(std::size_t total, std::size_t per_owner, seconds ttl = seconds(60)) {
  PendingLimits l;
  l.max_total = total;
  l.max_per_owner = per_owner;
  l.ttl = ttl;
  return l;
}

TEST(PendingTable, TakeOnceByItsOwner) {
  PendingTable<int> t(limits(8, 8));
  auto id = t.insert("alice", 7);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id.value().size(), 32u);  // 128 random bits, hex
  EXPECT_EQ(t.take(id.value(), "bob").error(), PendingMiss::kForeign);
  EXPECT_EQ(t.size(), 1u) << "a foreign attempt must not destroy the owner's entry";
  auto v = t.take(id.value(), "alice");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value(), 7);
  // Replayed: gone.
  EXPECT_EQ(t.take(id.value(), "alice").error(), PendingMiss::kUnknown);
  EXPECT_EQ(t.take("00000000000000000000000000000000", "alice").error(), PendingMiss::kUnknown);
  EXPECT_EQ(t.size(), 0u);
}

TEST(PendingTable, IdsAreDistinct) {
  PendingTable<int> t(limits(1000, 1000));
  std::set<std::string> ids;
  for (int i = 0; i < 500; ++i) ids.insert(t.insert("o", i).value());
  EXPECT_EQ(ids.size(), 500u);
}

TEST(PendingTable, BoundedInTotalAndPerOwner) {
  PendingTable<int> t(limits(4, 2));
  ASSERT_TRUE(t.insert("a", 1).ok());
  ASSERT_TRUE(t.insert("a", 2).ok());
  auto third = t.insert("a", 3);
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.error().reason.find("this client"), std::string::npos);
  // Others still get their share.
  ASSERT_TRUE(t.insert("b", 4).ok());
  auto id = t.insert("c", 5);
  ASSERT_TRUE(id.ok());
  auto full = t.insert("d", 6);
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().reason.find("too many"), std::string::npos);
  // Taking one frees its slot (and its owner's).
  ASSERT_TRUE(t.take(id.value(), "c").ok());
  EXPECT_TRUE(t.insert("d", 6).ok());
}

TEST(PendingTable, EntriesExpire) {
  PendingTable<int> t(limits(4, 4, seconds(10)));
  const auto t0 = Clock::now();
  auto a = t.insert("o", 1, t0).value();
  auto b = t.insert("o", 2, t0 + seconds(5)).value();
  // Past its deadline an entry cannot be taken; it waits for expire().
  EXPECT_EQ(t.take(a, "o", t0 + seconds(11)).error(), PendingMiss::kExpired);
  auto gone = t.expire(t0 + seconds(11));
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0], 1);
  EXPECT_EQ(t.take(a, "o", t0 + seconds(11)).error(), PendingMiss::kUnknown);
  EXPECT_TRUE(t.take(b, "o", t0 + seconds(11)).ok());
  // Expired entries free their owner's slots.
  PendingTable<int> one(limits(1, 1, seconds(1)));
  ASSERT_TRUE(one.insert("o", 1, t0).ok());
  EXPECT_FALSE(one.insert("o", 2, t0).ok());
  EXPECT_EQ(one.expire(t0 + seconds(2)).size(), 1u);
  EXPECT_TRUE(one.insert("o", 2, t0 + seconds(2)).ok());
}

TEST(PendingTable, ClearReturnsEverything) {
  PendingTable<int> t(limits(4, 4));
  t.insert("a", 1);
  t.insert("b", 2);
  EXPECT_EQ(t.clear().size(), 2u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.insert("a", 3).ok());
}

}  // namespace
}  // namespace bastion::gateway
