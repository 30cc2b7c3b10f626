#include "audit/filter.hpp"

#include <gtest/gtest.h>

#include "audit/test_util.hpp"

namespace bastion::audit {
namespace {

namespace json = boost::json;

TEST(AuditEvent, CarriesTheSeedFieldsAndNoValues) {
  protocol::Principal p;
  p.subject = "mcp-client";
  p.client_id = "mcp-client";
  server::CallContext ctx{p, "sess", "7", "tools/call", "crm", "lookup"};
  ctx.notes.parameter_count = 2;
  ctx.notes.contains_pii = true;
  ctx.notes.pii_action = server::DataAction::kMask;
  ctx.notes.pii = {{"email", 1}};
  auto e = audit_event(ctx, "ok", nullptr);
  for (const char* k :
       {"event_type", "tool_name", "user_id", "client_id", "contains_pii", "action_taken",
        "parameter_count", "request_id", "server", "pii", "decision", "latency_us"})
    EXPECT_TRUE(e.contains(k)) << k;
  EXPECT_EQ(e.at("action_taken"), "masked");
  EXPECT_EQ(e.at("parameter_count"), 2);
  EXPECT_EQ(e.at("user_id"), "mcp-client");
}

using testing::Audit;

TEST_F(Audit, TheFilterRecordsUnknownTargetsWithTheirOutcome) {
  auto log = std::make_shared<AuditLog>(opts_);
  AuditFilter f(log);
  protocol::Principal p;
  p.client_id = "c";
  server::CallContext ctx{p, "sess", "9", "tools/call", "", "no_such_tool"};
  ctx.notes.unresolved = "unknown";
  protocol::RpcError e{protocol::kInvalidParams, "Unknown tool: no_such_tool"};
  f.on_error(e, ctx);
  log.reset();
  auto rs = records();
  bool found = false;
  for (const auto& r : rs)
    if (r.at("event_type") == "tool_call") {
      found = true;
      EXPECT_EQ(r.at("outcome"), "unknown");
      EXPECT_EQ(r.at("tool_name"), "no_such_tool");
      EXPECT_EQ(r.at("error_code"), protocol::kInvalidParams);
    }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace bastion::audit
