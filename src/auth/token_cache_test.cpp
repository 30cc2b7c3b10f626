// The verified-token cache: unit tests of the LRU, and attacks through
// TokenValidator and AuthServer (a cached token must not outlive its
// revocation, its key or its expiry; a flood of tokens cannot grow it).
#include "auth/token_cache.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "auth/server_fixture.hpp"
#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using std::chrono::seconds;
using testing::FakeClock;

using testing::kAud;
using testing::kIss;

std::shared_ptr<const VerifiedTokenCache::Entry> entry(std::string jti) {
  auto e = std::make_shared<VerifiedTokenCache::Entry>();
  e->token.jti = std::move(jti);
  return e;
}

TEST(VerifiedTokenCache, EvictsLeastRecentlyUsedAtCapacity) {
  VerifiedTokenCache c(2);
  auto a = VerifiedTokenCache::digest("a"), b = VerifiedTokenCache::digest("b"),
       d = VerifiedTokenCache::digest("d");
  c.insert(a, entry("a"), c.generation());
  c.insert(b, entry("b"), c.generation());
  ASSERT_TRUE(c.find(a));  // a is now the most recent
  c.insert(d, entry("d"), c.generation());
  EXPECT_EQ(c.size(), 2u);
  EXPECT_TRUE(c.find(a));
  EXPECT_FALSE(c.find(b));
  EXPECT_EQ(c.find(d)->token.jti, "d");
}

TEST(VerifiedTokenCache, ClearBumpsGenerationAndRefusesStaleInserts) {
  VerifiedTokenCache c(8);
  auto a = VerifiedTokenCache::digest("a");
  std::uint64_t before = c.generation();
  c.insert(a, entry("a"), before);
  c.clear();
  EXPECT_EQ(c.size(), 0u);
  // A validation that began before clear() finishes after it: not remembered.
  c.insert(a, entry("a"), before);
  EXPECT_FALSE(c.find(a));
  c.insert(a, entry("a"), c.generation());
  EXPECT_TRUE(c.find(a));
  c.erase(a);
  EXPECT_FALSE(c.find(a));
}

TEST(VerifiedTokenCache, ZeroCapacityIsOff) {
  VerifiedTokenCache c(0);
  auto a = VerifiedTokenCache::digest("a");
  c.insert(a, entry("a"), c.generation());
  EXPECT_FALSE(c.find(a));
  EXPECT_EQ(c.size(), 0u);
}

// A validator whose issuer's keys the test can replace or remove (an IdP
// dropping a compromised key from its JWKS, a key file deleted).
struct CacheFixture {
  FakeClock clock;
  std::shared_ptr<std::map<std::string, std::shared_ptr<const Key>>> keys =
      std::make_shared<std::map<std::string, std::shared_ptr<const Key>>>();
  std::shared_ptr<std::set<std::string>> revoked = std::make_shared<std::set<std::string>>();
  std::shared_ptr<int> lookups = std::make_shared<int>(0);
  std::shared_ptr<bool> client_registered = std::make_shared<bool>(true);

  TokenValidator validator(std::size_t cache_entries = 10000) const {
    auto k = keys;
    auto r = revoked;
    auto n = lookups;
    auto reg = client_registered;
    return TokenValidator(
        ValidatorOptions{
            .audience = kAud, .clock_skew = seconds(60), .verified_cache_entries = cache_entries},
        {TrustedIssuer{kIss,
                       [k, n](std::string_view kid) -> std::shared_ptr<const Key> {
                         ++*n;
                         auto it = k->find(std::string(kid));
                         return it == k->end() ? nullptr : it->second;
                       },
                       /*own=*/true, /*require_typ=*/true,
                       [reg](AccessToken&) -> Status {
                         if (!*reg) return fail("client no longer registered");
                         return ok_status();
                       }}},
        [r](std::string_view jti) { return r->count(std::string(jti)) > 0; }, clock);
  }
  std::shared_ptr<const Key> add_key(Alg alg = Alg::kES256) {
    auto k = std::make_shared<const Key>(Key::generate(alg));
    (*keys)[k->kid()] = k;
    return k;
  }
  std::string token(const Key& k, std::int64_t lifetime = 300, std::string jti = new_jti()) {
    AccessToken t;
    t.iss = kIss;
    t.sub = "mcp-client";
    t.aud = {kAud};
    t.client_id = "mcp-client";
    t.scopes = {"mcp.access"};
    t.iat = clock();
    t.exp = clock() + lifetime;
    t.jti = std::move(jti);
    return issue_access_token(k, t).value();
  }
};

TEST(TokenCache, RepeatedTokenIsRememberedAndGivesTheSameClaims) {
  CacheFixture f;
  auto k = f.add_key();
  auto v = f.validator();
  std::string tok = f.token(*k);
  auto first = v.validate(tok);
  ASSERT_TRUE(first) << first.reason();
  EXPECT_EQ(v.cached_tokens(), 1u);
  auto again = v.validate(tok);
  ASSERT_TRUE(again) << again.reason();
  EXPECT_EQ(again->jti, first->jti);
  EXPECT_EQ(again->scopes, first->scopes);
  EXPECT_EQ(again->client_id, "mcp-client");
  EXPECT_EQ(v.cached_tokens(), 1u);
}

TEST(TokenCache, FailedTokensAreNotRemembered) {
  CacheFixture f;
  auto k = f.add_key();
  auto v = f.validator();
  std::string tok = f.token(*k);
  std::string tampered = tok;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(v.validate(tampered));
  EXPECT_FALSE(v.validate(tampered));
  EXPECT_EQ(v.cached_tokens(), 0u);
  // The genuine token is unaffected by its tampered twin.
  EXPECT_TRUE(v.validate(tok));
}

TEST(TokenCacheAttack, RevokedTokenIsRefusedAtOnceThoughCached) {
  CacheFixture f;
  auto k = f.add_key();
  auto v = f.validator();
  std::string tok = f.token(*k, 300, "jti-1");
  ASSERT_TRUE(v.validate(tok));
  ASSERT_EQ(v.cached_tokens(), 1u);
  f.revoked->insert("jti-1");
  auto r = v.validate(tok);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.reason(), "token revoked");
}

TEST(TokenCacheAttack, TokenOfARemovedKeyIsRefusedThoughCached) {
  CacheFixture f;
  auto k = f.add_key();
  auto v = f.validator();
  std::string tok = f.token(*k);
  ASSERT_TRUE(v.validate(tok));
  f.keys->erase(k->kid());
  auto r = v.validate(tok);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.reason(), "unknown signing key");
  EXPECT_EQ(v.cached_tokens(), 0u);
}

TEST(TokenCacheAttack, KeyReplacedUnderTheSameKidVerifiesAgain) {
  CacheFixture f;
  auto k = f.add_key();
  auto v = f.validator();
  std::string tok = f.token(*k);
  ASSERT_TRUE(v.validate(tok));
  // The issuer now trusts a different key under that kid: the cached verdict
  // was made with the old one, so the signature is checked again (and fails).
  (*f.keys)[k->kid()] = std::make_shared<const Key>(Key::generate(Alg::kES256).with_kid(k->kid()));
  EXPECT_FALSE(v.validate(tok));
  // Back to the original key object's material (a new object): verified again, accepted.
  (*f.keys)[k->kid()] = std::make_shared<const Key>(*k);
  EXPECT_TRUE(v.validate(tok));
}

TEST(TokenCacheAttack, TokenOfARemovedClientIsRefusedThoughCached) {
  CacheFixture f;
  auto k = f.add_key();
  auto v = f.validator();
  std::string tok = f.token(*k);
  ASSERT_TRUE(v.validate(tok));
  *f.client_registered = false;
  auto r = v.validate(tok);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.reason(), "client no longer registered");
}

TEST(TokenCacheAttack, ExpiredCachedTokenIsRefused) {
  CacheFixture f;
  auto k = f.add_key();
  auto v = f.validator();
  std::string tok = f.token(*k, 120);
  ASSERT_TRUE(v.validate(tok));
  f.clock.advance(120 + 60 - 1);  // inside the skew
  EXPECT_TRUE(v.validate(tok));
  f.clock.advance(1);
  auto r = v.validate(tok);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.reason(), "token expired");
  EXPECT_EQ(v.cached_tokens(), 0u);
}

TEST(TokenCacheAttack, FloodOfDistinctTokensStaysBounded) {
  CacheFixture f;
  auto k = f.add_key(Alg::kHS256);  // cheap to sign many
  auto v = f.validator(64);
  std::string first = f.token(*k);
  ASSERT_TRUE(v.validate(first));
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(v.validate(f.token(*k)));
  EXPECT_EQ(v.cached_tokens(), 64u);
  // The oldest was evicted, and is still accepted (verified again).
  EXPECT_TRUE(v.validate(first));
  // Garbage takes no room at all.
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(v.validate("a.b.c" + std::to_string(i)));
  EXPECT_EQ(v.cached_tokens(), 64u);
}

TEST(TokenCache, ClearForgetsEverything) {
  CacheFixture f;
  auto k = f.add_key();
  auto v = f.validator();
  ASSERT_TRUE(v.validate(f.token(*k)));
  v.clear_cache();
  EXPECT_EQ(v.cached_tokens(), 0u);
}

// Through the real authorization server: revocation at /oauth2/revoke and
// key expiry in the real KeyStore.
TEST(TokenCacheAttack, AuthServerRevocationEndsACachedToken) {
  testing::Server s;
  std::string tok = s.token();
  ASSERT_TRUE(s.as->validate(tok));
  ASSERT_TRUE(s.as->validate(tok));  // now served from the cache
  auto r = s.post("/oauth2/revoke", "token=" + tok, "application/x-www-form-urlencoded",
                  testing::basic("mcp-client", testing::client_a().secret));
  ASSERT_EQ(r.result(), http::status::ok);
  auto v = s.as->validate(tok);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.reason(), "token revoked");
}

TEST(TokenCacheAttack, AuthServerKeyPrunedAfterRotationEndsACachedToken) {
  testing::Server s;
  std::string tok = s.token();
  ASSERT_TRUE(s.as->validate(tok));
  s.as->keys().rotate();
  ASSERT_TRUE(s.as->validate(tok));  // the retired key is still trusted
  // Past the retention the old key is gone; so is the token (expired too).
  s.clock.advance(1800 + 60 + 1);
  s.as->keys().prune();
  EXPECT_FALSE(s.as->validate(tok));
}

}  // namespace
}  // namespace bastion::auth
