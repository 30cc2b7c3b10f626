#include "protocol/sha256.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include <string>
#include <thread>
#include <vector>

#include "protocol/base64.hpp"

namespace bastion::protocol {
namespace {

std::string hex(const Sha256& d) {
  return hex_encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

// FIPS 180-2 test vectors.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(hex(sha256_of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256_of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex_encode(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, PartsHashAsTheirConcatenation) {
  EXPECT_EQ(sha256_of({"ab", "", "c"}), sha256_of("abc"));
  std::string nul("a\0b", 3);
  EXPECT_EQ(sha256_of({std::string_view(nul).substr(0, 2), "b"}), sha256_of(nul));
  EXPECT_NE(sha256_of(nul), sha256_of("a"));  // not cut at a NUL
}

TEST(Sha256, ThreadsShareTheFetchedDigest) {
  const Sha256 want = sha256_of("abc");
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 2000; ++i)
        if (sha256_of("abc") != want) ++bad;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// Each thread reuses one context: every digest starts from a clean state
// whatever the one before it hashed.
TEST(Sha256, ConsecutiveDigestsOnOneThreadAreIndependent) {
  std::string big(100000, 'x');
  const Sha256 abc = sha256_of("abc");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(hex(sha256_of(big)), hex(sha256_of({std::string_view(big).substr(0, 50000),
                                                 std::string_view(big).substr(50000)})));
    EXPECT_EQ(sha256_of("abc"), abc);
    EXPECT_EQ(hex(sha256_of("")),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }
}

// A digest taken while the thread's own thread_local objects are being
// destroyed (after the context was released) is still right.
struct HashesWhenDestroyed {
  Sha256* out;
  ~HashesWhenDestroyed() { *out = sha256_of("abc"); }
};

TEST(Sha256, DigestDuringThreadExitIsRight) {
  Sha256 late{};
  std::thread([&] {
    thread_local HashesWhenDestroyed h{nullptr};
    h.out = &late;
    (void)sha256_of("warms this thread's context");  // released before h is destroyed
  }).join();
  EXPECT_EQ(hex(late), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace bastion::protocol
