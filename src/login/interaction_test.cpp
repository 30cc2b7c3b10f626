// LoginInteraction's housekeeping: expired browser sessions and federated
// sign-in state are deleted (AuthServer's housekeeping thread calls prune()).
#include "login/interaction.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "auth/record_store.hpp"
#include "auth/test_util.hpp"
#include "storage/private_file.hpp"
#include "web/session.hpp"

namespace bastion::login {
namespace {

using namespace std::chrono_literals;

using auth::testing::record_files;

// Attack: every login (and every started federated login) left a file that
// was never deleted, so the data directory only grew. Use: a live session
// survives the prune and still signs its browser in.
TEST(LoginInteraction, PruneDeletesExpiredSessionsAndFederationState) {
  storage::TempDir tmp;
  auth::testing::FakeClock clock;
  auto dir = tmp.path() / "auth";
  storage::ensure_private_dir(dir);
  LoginOptions o;
  o.session_lifetime = 3600s;
  LoginInteraction li("https://as.example", dir, o, Access{}, {}, clock);
  web::SessionStore sessions(dir / "sessions", web::SessionOptions{.lifetime = 3600s}, clock);
  auth::RecordStore federation(dir / "federation", {.durable = false}, clock);
  auto old = sessions.create(boost::json::object{{"subject", "alice"}});
  ASSERT_TRUE(old);
  ASSERT_TRUE(federation.create("state-1", boost::json::object{}, clock() + 600).value());
  ASSERT_EQ(federation.take("state-1").state, auth::RecordStore::Taken::State::kTaken);
  ASSERT_TRUE(federation.create("state-2", boost::json::object{}, clock() + 600).value());
  li.prune();  // nothing has expired
  EXPECT_EQ(record_files(dir / "sessions"), 1u);
  EXPECT_EQ(record_files(dir / "federation"), 2u);
  clock.advance(1800);
  auto fresh = sessions.create(boost::json::object{{"subject", "bob"}});
  ASSERT_TRUE(fresh);
  clock.advance(1800);  // the first session and the federation state have expired
  li.prune();
  EXPECT_EQ(record_files(dir / "federation"), 0u);
  EXPECT_EQ(record_files(dir / "sessions"), 1u);
  EXPECT_FALSE(sessions.find(old.value().id));
  EXPECT_TRUE(sessions.find(fresh.value().id));
}

}  // namespace
}  // namespace bastion::login
