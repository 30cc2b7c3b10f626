#include "audit/format.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "protocol/iso8601.hpp"

namespace bastion::audit {
namespace {

namespace json = boost::json;

TEST(AuditFormat, LinesAndRecords) {
  auto lines = split_lines("a\nbb\n\nc");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], "bb");
  EXPECT_EQ(lines[2], "");
  EXPECT_EQ(lines[3], "c");
  EXPECT_TRUE(split_lines("").empty());
  EXPECT_EQ(split_lines("x\n").size(), 1u);

  EXPECT_FALSE(parse_record("[1]"));
  EXPECT_FALSE(parse_record("{\"seq\":"));
  auto rec = parse_record(R"({"seq":3,"neg":-1,"s":"v","event_type":"audit_checkpoint"})");
  ASSERT_TRUE(rec);
  EXPECT_EQ(get_u64(*rec, "seq"), 3u);
  EXPECT_FALSE(get_u64(*rec, "neg"));
  EXPECT_FALSE(get_u64(*rec, "s"));
  EXPECT_EQ(get_str(*rec, "s"), "v");
  EXPECT_EQ(get_str(*rec, "seq"), "");
  EXPECT_TRUE(is_checkpoint(*rec));
  EXPECT_FALSE(is_checkpoint(json::object{{"event_type", "tool_call"}}));
}

TEST(AuditFormat, NamesAndTheSignedMessage) {
  EXPECT_EQ(rotated_name(42), "audit-000000000042.log");
  auto id = compute_key_id("public key bytes");
  EXPECT_EQ(id.size(), 3u + 16u);
  EXPECT_EQ(id.rfind("ak_", 0), 0u);
  EXPECT_EQ(signed_message("ak_1", 7, "root", "head"),
            "bastion-audit-checkpoint/v1\nak_1\n7\nroot\nhead\n");
}

TEST(AuditFormat, RangeOfACheckpointRestoresTheTree) {
  merkle::CompactRange r;
  for (const char* leaf : {"a", "b", "c", "d", "e"}) r.append(merkle::leaf_hash(leaf));
  json::array hashes;
  for (const auto& h : r.hashes()) hashes.emplace_back(merkle::to_hex(h));
  auto restored = range_of(json::object{{"tree_size", r.size()}, {"range", hashes}});
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->root(), r.root());
  // 7 leaves need three subtree roots, not two.
  EXPECT_FALSE(range_of(json::object{{"tree_size", r.size() + 2}, {"range", hashes}}));
  EXPECT_FALSE(range_of(json::object{{"tree_size", r.size()}, {"range", json::array{"zz"}}}));
  EXPECT_FALSE(range_of(json::object{{"range", hashes}}));
}

TEST(AuditFormat, TimestampsParseAsTheWriterStampsThem) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764583200123));
  EXPECT_EQ(parse_ts_ms(protocol::iso8601_utc_ms(t)), 1764583200123);
  EXPECT_EQ(parse_ts_ms("2025-12-01T10:00:00Z"), 1764583200000);
  EXPECT_EQ(parse_ts_ms("1970-01-01T00:00:00.000Z"), 0);
  for (const char* bad :
       {"", "2025-12-01T10:00:00", "2025-13-01T10:00:00Z", "2025-02-30T10:00:00.000Z",
        "2025-12-01 10:00:00.000Z", "2025-12-01T10:00:00.00Z", "+025-12-01T10:00:00.000Z"})
    EXPECT_FALSE(parse_ts_ms(bad)) << bad;
}

// The writer formats a second once and then only its milliseconds: every
// stamp is still iso8601_utc_ms's, across milliseconds, seconds, days and
// years, before 1970, and when the clock steps back.
TEST(AuditFormat, StampTextIsIso8601UtcMs) {
  using std::chrono::milliseconds;
  std::vector<std::int64_t> ms = {1764583200123,
                                  1764583200124,
                                  1764583200999,
                                  1764583201000,
                                  1764583201001,
                                  1764583200500,
                                  0,
                                  1,
                                  999,
                                  1000,
                                  -1,
                                  -999,
                                  -1000,
                                  -1001,
                                  1767225599999,
                                  1767225600000,
                                  1709251199998,
                                  1709251199999,
                                  1709251200000,
                                  951868799999,
                                  951868800000};
  for (std::int64_t step : {1, 7, 333, 86'399'999})
    for (std::int64_t i = 0, t = 1764583199990; i < 400; ++i, t += step) ms.push_back(t);
  StampText stamps;
  for (std::int64_t m : ms) {
    const auto t = std::chrono::system_clock::time_point(milliseconds(m));
    EXPECT_EQ(stamps.format(t), protocol::iso8601_utc_ms(t)) << m;
  }
  // Within a millisecond too (the clock has nanoseconds).
  const auto t = std::chrono::system_clock::time_point(milliseconds(1764583200123)) +
                 std::chrono::nanoseconds(999'999);
  EXPECT_EQ(stamps.format(t), "2025-12-01T10:00:00.123Z");
}

}  // namespace
}  // namespace bastion::audit
