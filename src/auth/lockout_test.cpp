#include "auth/lockout.hpp"

#include <gtest/gtest.h>

#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using testing::FakeClock;
namespace ip = boost::asio::ip;

std::vector<IpNetwork> nets(std::initializer_list<const char*> list) {
  std::vector<IpNetwork> out;
  for (auto* s : list) out.push_back(IpNetwork::parse(s).value());
  return out;
}

TEST(RequestSource, PeerOrTheHopBeforeTrustedProxies) {
  auto trusted = nets({"10.0.0.0/8", "fd00::1"});
  struct Case {
    const char* name;
    const char* peer;
    std::vector<std::string_view> xff;
    const char* address;
    const char* key;
  } cases[] = {
      {"untrusted peer: its X-Forwarded-For is ignored",
       "203.0.113.9",
       {"198.51.100.1"},
       "203.0.113.9",
       "203.0.113.9"},
      {"trusted proxy", "10.1.2.3", {"198.51.100.1"}, "198.51.100.1", "198.51.100.1"},
      {"client-forged entries left of the real hop",
       "10.1.2.3",
       {"1.1.1.1, 198.51.100.1"},
       "198.51.100.1",
       "198.51.100.1"},
      {"two trusted hops", "10.1.2.3", {"198.51.100.1, 10.9.9.9"}, "198.51.100.1", "198.51.100.1"},
      {"several header lines",
       "10.1.2.3",
       {"1.1.1.1", "198.51.100.1 , 10.9.9.9"},
       "198.51.100.1",
       "198.51.100.1"},
      {"garbage from the hop before the proxy",
       "10.1.2.3",
       {"198.51.100.1, not-an-ip"},
       "10.1.2.3",
       "10.1.2.3"},
      {"no header", "10.1.2.3", {}, "10.1.2.3", "10.1.2.3"},
      {"IPv6 counts per /64",
       "2001:db8:1:2:aaaa::1",
       {},
       "2001:db8:1:2:aaaa::1",
       "2001:db8:1:2::/64"},
      {"IPv4-mapped IPv6 is IPv4", "::ffff:198.51.100.7", {}, "198.51.100.7", "198.51.100.7"},
      {"trusted IPv6 proxy", "fd00::1", {"2001:db8::5"}, "2001:db8::5", "2001:db8::/64"},
  };
  for (const auto& c : cases) {
    Source s = request_source(ip::make_address(c.peer), c.xff, trusted);
    EXPECT_EQ(s.address, c.address) << c.name;
    EXPECT_EQ(s.key, c.key) << c.name;
  }
  // Nothing trusted: always the peer.
  EXPECT_EQ(request_source(ip::make_address("10.1.2.3"), {"1.1.1.1"}, {}).address, "10.1.2.3");
}

LockoutOptions small() {
  LockoutOptions o;
  o.pair_free = 5;
  o.source_free = 20;
  o.client_free = 20;
  o.max_backoff = std::chrono::seconds(900);
  o.client_max_backoff = std::chrono::seconds(60);
  o.forget_after = std::chrono::seconds(900);
  o.max_entries = 100;
  return o;
}

TEST(Lockout, BackoffDoublesFromTheSixthFailureUpToTheCap) {
  FakeClock clock;
  Lockout l(small(), clock);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(l.retry_after("c", "1.2.3.4"), 0);
    EXPECT_EQ(l.failure("c", "1.2.3.4"), 0) << i;
  }
  std::int64_t expect = 1;
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(l.failure("c", "1.2.3.4"), std::min<std::int64_t>(expect, 900)) << i;
    EXPECT_EQ(l.retry_after("c", "1.2.3.4"), std::min<std::int64_t>(expect, 900));
    clock.advance(std::min<std::int64_t>(expect, 900));
    EXPECT_EQ(l.retry_after("c", "1.2.3.4"), 0);
    expect *= 2;
  }
  // Locks never exceed the cap, however long it goes on.
  for (int i = 0; i < 100; ++i) EXPECT_LE(l.failure("c", "1.2.3.4"), 900);
}

TEST(Lockout, NoPermanentLockout) {
  FakeClock clock;
  Lockout l(small(), clock);
  for (int i = 0; i < 50; ++i) l.failure("c", "1.2.3.4");
  EXPECT_GT(l.retry_after("c", "1.2.3.4"), 0);
  clock.advance(901);  // the cap, and the quiet period after which failures are forgotten
  EXPECT_EQ(l.retry_after("c", "1.2.3.4"), 0);
  EXPECT_EQ(l.failure("c", "1.2.3.4"), 0) << "the count starts again after a quiet period";
}

TEST(Lockout, SuccessClearsThePairOnly) {
  FakeClock clock;
  Lockout l(small(), clock);
  for (int i = 0; i < 4; ++i) l.failure("c", "1.2.3.4");
  l.success("c", "1.2.3.4");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(l.failure("c", "1.2.3.4"), 0);
  // The source's own count (all clients) is not reset by one success.
  for (int i = 0; i < 11; ++i) l.failure("other" + std::to_string(i), "1.2.3.4");
  EXPECT_GT(l.failure("x", "1.2.3.4"), 0) << "21 failures from one source";
}

TEST(Lockout, SprayingIdsFromOneSourceHitsTheSourceLock) {
  FakeClock clock;
  Lockout l(small(), clock);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(l.failure("id" + std::to_string(i), "6.6.6.6"), 0);
  EXPECT_EQ(l.failure("id-new", "6.6.6.6"), 1);
  EXPECT_EQ(l.retry_after("yet-another", "6.6.6.6"), 1);
  EXPECT_EQ(l.retry_after("yet-another", "7.7.7.7"), 0);
}

TEST(Lockout, DistributedGuessingLocksTheClientButNotItsKnownSources) {
  FakeClock clock;
  Lockout l(small(), clock);
  l.success("bank-app", "10.0.0.5");  // its usual host
  for (int i = 0; i < 20; ++i) l.failure("bank-app", "198.51.100." + std::to_string(i));
  EXPECT_GT(l.failure("bank-app", "198.51.100.99"), 0);
  EXPECT_GT(l.retry_after("bank-app", "203.0.113.1"), 0) << "a new source waits";
  EXPECT_LE(l.retry_after("bank-app", "203.0.113.1"), 60) << "at most the client cap";
  EXPECT_EQ(l.retry_after("bank-app", "10.0.0.5"), 0) << "the known source is spared";
  clock.advance(24 * 3600 + 1);
  for (int i = 0; i < 30; ++i) l.failure("bank-app", "198.51.100." + std::to_string(i));
  EXPECT_GT(l.retry_after("bank-app", "10.0.0.5"), 0) << "known for 24 hours only";
}

TEST(Lockout, UnknownAndKnownIdsAreTreatedAlike) {
  FakeClock clock;
  Lockout l(small(), clock);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(l.failure("registered", "1.1.1.1"), l.failure("never-registered", "2.2.2.2")) << i;
    EXPECT_EQ(l.retry_after("registered", "1.1.1.1"), l.retry_after("never-registered", "2.2.2.2"));
  }
}

TEST(Lockout, MemoryIsBounded) {
  FakeClock clock;
  Lockout l(small(), clock);
  for (int i = 0; i < 5000; ++i)
    l.failure(std::string(2000, 'x') + std::to_string(i), "src" + std::to_string(i));
  EXPECT_LE(l.size(), 300u);
}

}  // namespace
}  // namespace bastion::auth
