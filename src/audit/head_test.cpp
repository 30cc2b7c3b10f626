// The head file's format: fixed size, round trip, garbage refused.
#include "audit/head.hpp"

#include <gtest/gtest.h>

namespace bastion::audit {
namespace {

TEST(Head, RoundTripsInAFixedSize) {
  Head h;
  h.seq = 123456789;
  h.hash = std::string(64, 'a');
  h.ts = "2026-12-01T10:00:00.000Z";
  h.shutdown = true;
  h.interval_ms = 200;
  h.key_id = "ak_0123456789abcdef";
  h.sig = std::string(88, 'S');
  auto text = format_head(h);
  EXPECT_EQ(text.size(), kHeadFileBytes);
  EXPECT_EQ(text.back(), '\n');
  auto back = parse_head(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->seq, h.seq);
  EXPECT_EQ(back->hash, h.hash);
  EXPECT_TRUE(back->shutdown);
  EXPECT_FALSE(back->legacy);
  EXPECT_NE(head_message(*back, "SHA256:x"), head_message(h, "SHA256:y"));
}

TEST(Head, RefusesGarbageAndReadsTheLegacyFormat) {
  EXPECT_FALSE(parse_head(""));
  EXPECT_FALSE(parse_head("garbage\n"));
  EXPECT_FALSE(parse_head(std::string(kHeadFileBytes - 1, ' ') + "\n"));
  auto legacy = parse_head("00000000000000000042 " + std::string(64, 'b') + "\n");
  ASSERT_TRUE(legacy);
  EXPECT_TRUE(legacy->legacy);
  EXPECT_EQ(legacy->seq, 42u);
  EXPECT_FALSE(parse_head("00000000000000000042 " + std::string(64, 'Z') + "\n"));
}

}  // namespace
}  // namespace bastion::audit
