#include "web/session.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "storage/temp_dir.hpp"

namespace bastion::web {
namespace {

struct Clock {
  std::shared_ptr<std::atomic<std::int64_t>> t =
      std::make_shared<std::atomic<std::int64_t>>(1'700'000'000);
  std::int64_t operator()() const { return *t; }
};

TEST(Sessions, CreateFindExpireDestroy) {
  storage::TempDir tmp;
  Clock clock;
  SessionStore s(tmp.path() / "s", {.lifetime = std::chrono::seconds(100)}, clock);
  auto a = s.create({{"user", "alice"}});
  ASSERT_TRUE(a);
  auto b = s.create({{"user", "alice"}});
  EXPECT_NE(a->id, b->id);  // every login gets its own id
  EXPECT_TRUE(plausible_session_id(a->id));
  auto found = s.find(a->id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->data.at("user").as_string(), "alice");
  EXPECT_TRUE(s.set_data(a->id, {{"user", "alice"}, {"x", 1}}));
  EXPECT_EQ(s.find(a->id)->data.at("x").as_int64(), 1);
  s.destroy(a->id);
  EXPECT_FALSE(s.find(a->id));
  EXPECT_FALSE(s.set_data(a->id, {}));
  *clock.t += 101;
  EXPECT_FALSE(s.find(b->id));
}

TEST(Sessions, IdsThatCreateDidNotMakeAreNeverLookedUp) {
  storage::TempDir tmp;
  SessionStore s(tmp.path() / "s");
  EXPECT_FALSE(s.find(""));
  EXPECT_FALSE(s.find("../../etc/passwd"));
  EXPECT_FALSE(s.find(std::string(43, '.')));
  EXPECT_FALSE(s.find(std::string(43, 'A')));  // well formed, unknown
  EXPECT_FALSE(plausible_session_id(std::string(44, 'A')));
}

}  // namespace
}  // namespace bastion::web
