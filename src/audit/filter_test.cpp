#include "audit/filter.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace bastion::audit
