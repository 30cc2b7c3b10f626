// Attacks on client metadata document fetching: one address holding
// documents open to take every fetch slot, and a flood of client_ids that
// would push the documents in use out of the cache.
#include "auth/metadata_documents.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using testing::FakeClock;
using testing::SilentServer;

// Refused by the SSRF guard without touching the network: a fetch that
// ends at once (and is cached as a failure).
std::string private_url(std::string_view path) { return "https://10.0.0.1" + std::string(path); }

// One address whose documents never arrive holds its own slots only: other
// addresses still fetch, and a fetch it was refused for want of a slot is
// not remembered as the document's failure.
TEST(ClientDocuments, OneAddressCannotTakeEveryFetchSlot) {
  SilentServer slow;
  MetadataDocumentOptions o;
  o.allow_addresses = {"127.0.0.1"};
  o.timeout = std::chrono::seconds(30);
  ClientDocuments docs(o, FakeClock{});
  const std::string attacker = "198.51.100.1";
  std::atomic<std::size_t> answered{0};
  std::vector<std::thread> held;
  for (int i = 0; i < 4; ++i)
    held.emplace_back([&, i] {
      (void)docs.metadata(slow.url("/slow-" + std::to_string(i) + ".json"), attacker);
      ++answered;
    });
  // Each of the attacker's fetches holds a connection or was turned away.
  slow.wait_accepted(4, [&](std::size_t accepted) { return accepted + answered >= 4; });
  std::size_t before = docs.fetches();
  auto other = docs.metadata(private_url("/other.json"), "203.0.113.9");
  EXPECT_EQ(docs.fetches(), before + 1) << other.reason();
  EXPECT_NE(other.reason().find("not a public address"), std::string::npos) << other.reason();
  // The attacker's own next fetch is turned away, and that is not cached.
  auto refused = docs.metadata(private_url("/again.json"), attacker);
  EXPECT_NE(refused.reason().find("too many"), std::string::npos) << refused.reason();
  EXPECT_EQ(docs.fetches(), before + 1);
  slow.release();
  for (auto& t : held) t.join();
  (void)docs.metadata(private_url("/again.json"), attacker);
  EXPECT_EQ(docs.fetches(), before + 2) << "a refusal for want of a slot was cached";
}

// A flood of new client_ids evicts idle entries, not everything: a document
// in use keeps being answered from the cache.
TEST(ClientDocuments, ACacheFloodKeepsTheEntriesInUse) {
  FakeClock clock;
  ClientDocuments docs(MetadataDocumentOptions{}, clock, 8);
  (void)docs.metadata(private_url("/in-use.json"), "192.0.2.1");
  ASSERT_EQ(docs.fetches(), 1u);
  for (int i = 0; i < 16; ++i) {
    (void)docs.metadata(private_url("/flood-" + std::to_string(i) + ".json"), "192.0.2.2");
    (void)docs.metadata(private_url("/in-use.json"), "192.0.2.1");
  }
  EXPECT_EQ(docs.fetches(), 17u) << "the document in use was fetched again";
  // The oldest idle entries went first: the last flood entries are cached.
  (void)docs.metadata(private_url("/flood-15.json"), "192.0.2.2");
  EXPECT_EQ(docs.fetches(), 17u);
  (void)docs.metadata(private_url("/flood-0.json"), "192.0.2.2");
  EXPECT_EQ(docs.fetches(), 18u);
}

}  // namespace
}  // namespace bastion::auth
