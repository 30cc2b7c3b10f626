// The seed's audit and encryption tools against a real audit log and key ring.
#include "tools/audit_report_tools.hpp"

#include <gtest/gtest.h>

#include "audit/log.hpp"
#include "storage/temp_dir.hpp"

namespace bastion::tools {
namespace {

namespace json = boost::json;

const json::object& structured(const protocol::Outcome& out) {
  return out.result().at("structuredContent").as_object();
}

TEST(AuditReportTools, PagesRecordsAndReportsAVerifiedLog) {
  storage::TempDir tmp;
  audit::AuditOptions o;
  o.dir = tmp.path() / "audit";
  std::string pk;
  {
    audit::AuditLog log(o);
    pk = log.public_key();
    for (int i = 0; i < 5; ++i)
      log.append(json::object{{"event_type", "tool_call"},
                              {"tool_name", i % 2 ? "odd" : "even"},
                              {"contains_pii", i == 0}});
  }
  auto anon = protocol::Principal::anonymous();
  auto list = make_get_security_audit_log_tool(o.dir);
  auto page = list.call(json::object{{"tool_name", "even"}, {"limit", 2}}, anon);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(structured(page).at("count"), 2);
  ASSERT_TRUE(structured(page).contains("nextCursor"));
  auto rest = list.call(
      json::object{{"tool_name", "even"}, {"cursor", structured(page).at("nextCursor")}}, anon);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(structured(rest).at("count"), 1);
  EXPECT_FALSE(list.call(json::object{{"limit", "x"}}, anon).ok());

  auto report = make_generate_security_report_tool(o.dir, pk).call(json::object{}, anon);
  ASSERT_TRUE(report.ok());
  const auto& r = structured(report);
  EXPECT_EQ(r.at("events_with_pii"), 1);
  EXPECT_EQ(r.at("audit_integrity").at("verified"), true) << json::serialize(r);
}

TEST(AuditReportTools, EncryptionRoundTripNeverEchoesThePlaintext) {
  auto keys = std::make_shared<const security::MultiFernet>(std::vector<security::Fernet>{
      security::Fernet::from_key(security::Fernet::generate_key()).value()});
  auto tool = make_test_encryption_tool(keys);
  auto anon = protocol::Principal::anonymous();
  auto enc = tool.call(json::object{{"text", "s3cret-value"}}, anon);
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(structured(enc).at("round_trip_ok"), true);
  EXPECT_EQ(json::serialize(enc.result()).find("s3cret-value"), std::string::npos);
  auto dec = tool.call(json::object{{"token", structured(enc).at("fernet_token")}}, anon);
  ASSERT_TRUE(dec.ok()) << json::serialize(dec.result());
  EXPECT_FALSE(tool.call(json::object{}, anon).ok());
}

}  // namespace
}  // namespace bastion::tools
