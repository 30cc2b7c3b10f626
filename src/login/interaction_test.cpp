// LoginInteraction's housekeeping: expired browser sessions and federated
// sign-in state are deleted (AuthServer's housekeeping thread calls prune());
// and where a password is checked.
#include "login/interaction.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

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

// A host without pending authorizations (a login without one lands on /account).
struct HostWithoutPending : auth::InteractionHost {
  std::string iss = "http://127.0.0.1:8080";
  std::optional<auth::PendingAuthorization> find_pending(std::string_view) const override {
    return std::nullopt;
  }
  const std::string& issuer() const override { return iss; }
};

// Attack: a flood of wrong passwords ran argon2id on the threads that answer
// requests. The check now runs on the hashing pool: while it waits there,
// the login is unanswered and other requests are still served.
TEST(LoginInteraction, PasswordsAreCheckedOnTheHashingPool) {
  storage::TempDir tmp;
  auto dir = tmp.path() / "auth";
  storage::ensure_private_dir(dir);
  ASSERT_TRUE(UserStore(dir / "users").add("alice", "correct horse battery"));
  auth::HashPool pool({.threads = 1, .queue = 16, .per_source = 2, .nice = 0});
  LoginInteraction::Hooks hooks;
  hooks.hashing = &pool;
  HostWithoutPending host;
  LoginInteraction li(host.iss, dir, LoginOptions{}, Access{}, hooks);
  // The one hashing thread is busy until the test lets it go.
  std::promise<void> go;
  std::shared_future<void> gate = go.get_future().share();
  ASSERT_EQ(pool.submit("other", [gate] { gate.wait(); }), auth::HashPool::Admit::kAdmitted);

  std::string browser = auth::b64url_encode(auth::random_bytes(32));
  auth::Interaction::Request post{web::http::verb::post, "/signin/login", 11};
  post.set(web::http::field::origin, host.iss);
  post.set(web::http::field::cookie, "bastion_browser=" + browser);
  post.set(web::http::field::content_type, "application/x-www-form-urlencoded");
  post.body() = "id=&username=alice&password=wrong-password&csrf=" +
                protocol::url_encode(web::csrf_token(li.csrf_key(), browser, "login:"));
  post.prepare_payload();
  std::promise<auth::Outcome> login;
  auto answer = login.get_future();
  ASSERT_TRUE(
      li.handle(post, "192.0.2.7", host, [&](auth::Outcome o) { login.set_value(std::move(o)); }));
  EXPECT_EQ(answer.wait_for(0s), std::future_status::timeout)
      << "the password was checked on the calling thread";
  auth::Interaction::Request get{web::http::verb::get, "/signin/login", 11};
  std::optional<web::http::status> served;
  li.handle(get, "192.0.2.8", host, [&](auth::Outcome o) {
    if (auto* page = std::get_if<auth::Page>(&o)) served = page->response.result();
  });
  EXPECT_EQ(served, web::http::status::ok) << "another request waited for the password check";

  go.set_value();
  auto o = answer.get();
  ASSERT_TRUE(std::holds_alternative<auth::Page>(o));
  const auto& res = std::get<auth::Page>(o).response;
  EXPECT_EQ(res.result(), web::http::status::ok);
  EXPECT_NE(res.body().find("Wrong user name or password."), std::string::npos) << res.body();
}

}  // namespace
}  // namespace bastion::login
