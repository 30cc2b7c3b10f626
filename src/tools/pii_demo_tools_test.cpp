#include "tools/pii_demo_tools.hpp"

#include <gtest/gtest.h>

namespace bastion::tools {
namespace {

namespace json = boost::json;
using pii::PiiScanner;
using pii::policy_options_from_json;
using pii::PolicyOptions;

std::shared_ptr<const PiiScanner> scanner() {
  static auto s = std::make_shared<const PiiScanner>();
  return s;
}

TEST(SeedPiiTools, TestPiiDetectionReportsMaskedOnly) {
  auto tool = make_test_pii_detection_tool(scanner());
  EXPECT_EQ(tool.definition.at("name"), "test_pii_detection");
  auto out = tool.call(json::object{{"text", "김철수님 010-1234-5678 kim@example.com"}},
                       protocol::Principal::anonymous());
  ASSERT_TRUE(out.ok());
  const auto& sc = out.result().at("structuredContent").as_object();
  EXPECT_EQ(sc.at("count"), 3);
  EXPECT_EQ(sc.at("masked_text"), "김**님 010-****-5678 ***@example.com");
  std::string all = json::serialize(out.result());
  EXPECT_EQ(all.find("1234"), std::string::npos);
  EXPECT_EQ(all.find("kim@"), std::string::npos);
  EXPECT_FALSE(tool.call(json::object{}, protocol::Principal::anonymous()).ok());
}

TEST(SeedPiiTools, BreachSimulationIsDeterministicAndCountsEveryRecord) {
  EXPECT_EQ(synthetic_breach_sample(20, 7), synthetic_breach_sample(20, 7));
  EXPECT_NE(synthetic_breach_sample(20, 7), synthetic_breach_sample(20, 8));
  PolicyOptions p = policy_options_from_json(
      json::parse(R"({"default": "mask", "types": {"rrn": "reject"}})").as_object());
  auto tool = make_simulate_data_breach_detection_tool(scanner(), p);
  auto out = tool.call(json::object{{"records", 40}}, protocol::Principal::anonymous());
  ASSERT_TRUE(out.ok());
  const auto& sc = out.result().at("structuredContent").as_object();
  const auto& counts = sc.at("counts").as_object();
  for (const char* type : {"email", "phone", "rrn", "credit_card", "korean_name", "ipv4"})
    EXPECT_EQ(counts.at(type), 40) << type;
  EXPECT_EQ(sc.at("configured_policy").at("decision"), "reject");
  EXPECT_EQ(sc.at("configured_policy").at("per_type").at("email"), "mask");
  std::string all = json::serialize(out.result());
  EXPECT_EQ(all.find("customer1@"), std::string::npos);
  EXPECT_FALSE(tool.call(json::object{{"records", 0}}, protocol::Principal::anonymous()).ok());
}

}  // namespace
}  // namespace bastion::tools
