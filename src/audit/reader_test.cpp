#include "audit/reader.hpp"

#include <gtest/gtest.h>

#include "audit/test_util.hpp"

namespace bastion::audit {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::Audit;

TEST_F(Audit, ReadsRecordsNewestFirstWithFilterAndCursor) {
  write_log(30);
  auto page = read_audit_records(
      opts_.dir, 0, 5, [](const json::object& o) { return o.at("event_type") == "tool_call"; });
  ASSERT_EQ(page.size(), 5u);
  EXPECT_EQ(page[0].at("tool_name"), "t29");
  auto before = page.back().at("seq").to_number<std::uint64_t>();
  auto next = read_audit_records(opts_.dir, before, 5, nullptr);
  ASSERT_FALSE(next.empty());
  EXPECT_LT(next[0].at("seq").to_number<std::uint64_t>(), before);
  EXPECT_FALSE(next[0].contains("prev"));
}

TEST_F(Audit, VisitsEveryRecordOldestFirstAcrossRotatedFiles) {
  opts_.max_file_bytes = 4096;
  write_log(200);
  ASSERT_GT(audit_files(opts_.dir).size(), 3u);
  std::vector<std::string> tools;
  std::uint64_t last_seq = 0;
  bool ordered = true;
  for_each_audit_record(opts_.dir, [&](const json::object& r) {
    auto seq = r.at("seq").to_number<std::uint64_t>();
    ordered = ordered && seq > last_seq;
    last_seq = seq;
    EXPECT_NE(r.at("event_type"), "audit_checkpoint");
    if (r.at("event_type") == "tool_call") tools.emplace_back(r.at("tool_name").as_string());
  });
  EXPECT_TRUE(ordered);
  ASSERT_EQ(tools.size(), 200u);
  EXPECT_EQ(tools.front(), "t0");
  EXPECT_EQ(tools.back(), "t199");
}

}  // namespace
}  // namespace bastion::audit
