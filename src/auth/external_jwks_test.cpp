#include "auth/external_jwks.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "auth/jwt.hpp"
#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using std::chrono::seconds;
using testing::FakeClock;

constexpr const char* kUrl = "http://127.0.0.1:1/jwks.json";

std::string jwks_of(std::initializer_list<const Key*> keys) {
  json::array a;
  for (const Key* k : keys) a.push_back(k->public_jwk());
  return json::serialize(json::object{{"keys", std::move(a)}});
}

ExternalJwksOptions manual() {
  ExternalJwksOptions o;
  o.url = kUrl;
  o.background = false;
  return o;
}

// find() never fetches: an unknown kid only asks for a refresh (issue 16:
// the fetch ran on the I/O thread, under the mutex every lookup takes).
TEST(ExternalJwks, FindNeverFetchesOnTheCallersThread) {
  FakeClock clock;
  Key idp = Key::generate(Alg::kES256);
  std::atomic<int> fetches{0};
  ExternalJwks jwks(
      manual(),
      [&](const std::string& url) -> Result<std::string> {
        EXPECT_EQ(url, kUrl);
        ++fetches;
        return jwks_of({&idp});
      },
      clock);
  EXPECT_EQ(jwks.find(idp.kid()), nullptr);
  EXPECT_EQ(fetches, 0);
  EXPECT_TRUE(jwks.refresh_pending());
  ASSERT_EQ(jwks.refresh().value(), 1u);
  EXPECT_FALSE(jwks.refresh_pending());
  ASSERT_NE(jwks.find(idp.kid()), nullptr);
  EXPECT_EQ(jwks.find("other"), nullptr);
  EXPECT_EQ(fetches, 1);
}

// While a fetch hangs (a slow or hostile JWKS server), lookups answer at
// once from the keys in memory.
TEST(ExternalJwks, LookupsDoNotWaitForAHangingFetch) {
  Key idp = Key::generate(Alg::kES256);
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<int> fetches{0};
  ExternalJwksOptions o;
  o.url = kUrl;
  o.min_refresh = seconds(0);
  auto jwks = std::make_unique<ExternalJwks>(o, [&](const std::string&) -> Result<std::string> {
    if (++fetches > 1) released.wait();  // the second fetch hangs until released
    return jwks_of({&idp});
  });
  for (int i = 0; i < 200 && jwks->size() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(jwks->size(), 1u);
  jwks->find("unknown");  // asks for the refresh that will hang
  for (int i = 0; i < 200 && fetches < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(fetches, 2);
  auto lookup = std::async(std::launch::async, [&] { return jwks->find(idp.kid()) != nullptr; });
  ASSERT_EQ(lookup.wait_for(seconds(5)), std::future_status::ready)
      << "find() waited for the fetch";
  EXPECT_TRUE(lookup.get());
  release.set_value();
  jwks.reset();  // joins the fetcher
}

// Kid spraying cannot become a fetch storm: one fetch per min_refresh.
TEST(ExternalJwks, UnknownKidsRefreshAtMostOncePerInterval) {
  Key idp = Key::generate(Alg::kES256);
  std::atomic<int> fetches{0};
  ExternalJwksOptions o;
  o.url = kUrl;
  o.min_refresh = seconds(30);
  ExternalJwks jwks(o, [&](const std::string&) -> Result<std::string> {
    ++fetches;
    return jwks_of({&idp});
  });
  for (int i = 0; i < 200 && jwks.size() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (int i = 0; i < 1000; ++i) jwks.find("spray-" + std::to_string(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(fetches, 1);
}

TEST(ExternalJwks, BadFetchesKeepTheLastGoodSetAndStaleKeysStopCounting) {
  FakeClock clock;
  Key idp = Key::generate(Alg::kES256);
  std::string body = jwks_of({&idp});
  ExternalJwksOptions o = manual();
  o.max_bytes = 4096;
  o.max_stale = seconds(3600);
  ExternalJwks jwks(
      o,
      [&](const std::string&) -> Result<std::string> {
        if (body == "down") return fail("connection refused");
        return body;
      },
      clock);
  ASSERT_TRUE(jwks.refresh());
  struct Case {
    std::string name, body;
  } bad[] = {
      {"unreachable", "down"},
      {"not JSON", "<html>"},
      {"no keys array", R"({"keys":{}})"},
      {"duplicate members", R"({"keys":[],"keys":[]})"},
      {"too large", std::string(5000, ' ') + "{\"keys\":[]}"},
  };
  for (const auto& c : bad) {
    body = c.body;
    EXPECT_FALSE(jwks.refresh()) << c.name;
    EXPECT_NE(jwks.find(idp.kid()), nullptr) << c.name << ": the last good key set is kept";
  }
  // Keys not confirmed by a fetch for max_stale are not trusted.
  clock.advance(3601);
  EXPECT_EQ(jwks.find(idp.kid()), nullptr);
  body = jwks_of({&idp});
  ASSERT_TRUE(jwks.refresh());
  EXPECT_NE(jwks.find(idp.kid()), nullptr);
  // A good document without the key withdraws it.
  Key other = Key::generate(Alg::kEdDSA);
  body = jwks_of({&other});
  ASSERT_TRUE(jwks.refresh());
  EXPECT_EQ(jwks.find(idp.kid()), nullptr);
  EXPECT_NE(jwks.find(other.kid()), nullptr);
}

TEST(ExternalJwks, ParseJwksSkipsWhatCannotBeTrusted) {
  Key ec = Key::generate(Alg::kES256);
  json::object priv = ec.private_jwk();
  priv["kid"] = "private";
  json::object no_kid = ec.public_jwk();
  no_kid.erase("kid");
  json::array keys{
      ec.public_jwk(),
      json::parse(R"({"kty":"oct","kid":"h","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})"),
      json::parse(R"({"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","kid":"bad"})"),
      priv,
      no_kid,
      nullptr,
  };
  auto out = parse_jwks(json::object{{"keys", keys}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->kid(), ec.kid());
  // At most max_keys.
  json::array many;
  for (int i = 0; i < 10; ++i) {
    auto j = ec.public_jwk();
    j["kid"] = "k" + std::to_string(i);
    many.push_back(j);
  }
  EXPECT_EQ(parse_jwks(json::object{{"keys", many}}, 3).size(), 3u);
}

TEST(Jwks, KeysWithoutAUsableKidAreSkipped) {
  // fuzz/jwk: "kid": "" was kept, so a key set could publish a kid-less key.
  Key k = Key::generate(Alg::kES256);
  json::object pub = k.public_jwk();
  json::object empty = pub;
  empty["kid"] = "";
  json::object number = pub;
  number["kid"] = 7;
  auto keys = parse_jwks(json::object{{"keys", json::array{empty, number, pub}}});
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]->kid(), k.kid());
}

}  // namespace
}  // namespace bastion::auth
