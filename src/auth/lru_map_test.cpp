#include "auth/lru_map.hpp"

#include <gtest/gtest.h>

namespace bastion::auth {
namespace {

// A full map drops the least recently used key; peek() reads without
// changing which that is, find() makes a key the most recent.
TEST(LruMap, DropsTheLeastRecentlyUsedAndPeekLeavesTheOrder) {
  LruMap<int> m(2);
  m.get_or_insert("a") = 1;
  m.get_or_insert("b") = 2;
  ASSERT_NE(m.peek("a"), nullptr);  // a stays the oldest
  m.get_or_insert("c") = 3;
  EXPECT_EQ(m.peek("a"), nullptr);
  EXPECT_EQ(*m.peek("b"), 2);
  ASSERT_NE(m.find("b"), nullptr);  // now c is the oldest
  m.get_or_insert("d") = 4;
  EXPECT_EQ(m.peek("c"), nullptr);
  EXPECT_EQ(*m.peek("b"), 2);
  EXPECT_EQ(m.size(), 2u);
}

TEST(LruMap, EraseRemovesOneKeyAndFreesItsPlace) {
  LruMap<int> m(2);
  m.get_or_insert("a") = 1;
  m.get_or_insert("b") = 2;
  EXPECT_TRUE(m.erase("a"));
  EXPECT_FALSE(m.erase("a"));
  EXPECT_EQ(m.size(), 1u);
  m.get_or_insert("c") = 3;  // room for it: b stays
  EXPECT_EQ(*m.peek("b"), 2);
  EXPECT_EQ(*m.peek("c"), 3);
  EXPECT_EQ(m.get_or_insert("a"), 0);  // a fresh entry, b the one dropped
  EXPECT_EQ(m.peek("b"), nullptr);
}

}  // namespace
}  // namespace bastion::auth
