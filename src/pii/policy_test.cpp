// Reading and resolving the PII policy (policy.cpp): precedence between the
// default, types, directions, servers and tools, and configuration errors
// naming their key; applying a resolved policy to a message is in
// policy_apply_test.cpp.
#include "pii/policy.hpp"
#include "pii/test_util.hpp"

#include <gtest/gtest.h>

namespace bastion::pii {
namespace {

namespace json = boost::json;

using testing::opts;

TEST(Policy, PrecedenceTable) {
  PolicyOptions o = opts(R"({
    "default": "mask",
    "types": {"rrn": "reject"},
    "directions": {"response": {"types": {"email": "allow"}}},
    "servers": {
      "crm": {"action": "encrypt",
              "directions": {"request": "reject"},
              "tools": {"export": {"action": "allow", "types": {"rrn": "mask"}}}}
    },
    "tools": {"search": "allow", "lookup": {"types": {"email": "reject"}}}
  })");
  struct C {
    const char* server;
    const char* tool;
    Direction d;
    const char* type;
    PiiAction want;
  } cases[] = {
      {"other", "t", Direction::kRequest, "phone", PiiAction::kMask},    // default
      {"other", "t", Direction::kRequest, "rrn", PiiAction::kReject},    // global type
      {"other", "t", Direction::kResponse, "email", PiiAction::kAllow},  // global direction type
      {"other", "t", Direction::kRequest, "email", PiiAction::kMask},
      {"crm", "t", Direction::kResponse, "phone", PiiAction::kEncrypt},      // server action
      {"crm", "t", Direction::kRequest, "phone", PiiAction::kReject},        // server direction
      {"crm", "t", Direction::kRequest, "rrn", PiiAction::kReject},          // type beats action
      {"crm", "export", Direction::kRequest, "phone", PiiAction::kAllow},    // server tool
      {"crm", "export", Direction::kRequest, "rrn", PiiAction::kMask},       // server tool type
      {"other", "search", Direction::kRequest, "phone", PiiAction::kAllow},  // tool
      {"other", "search", Direction::kRequest, "rrn", PiiAction::kReject},   // type still wins
      {"crm", "search", Direction::kRequest, "phone", PiiAction::kAllow},    // tool beats server
      {"other", "lookup", Direction::kResponse, "email",
       PiiAction::kReject},  // tool type beats global
  };
  for (const auto& c : cases) {
    ResolvedPolicy r(o, c.server, c.tool, c.d);
    EXPECT_EQ(r.action_for(c.type), c.want)
        << c.server << "/" << c.tool << " " << to_string(c.d) << " " << c.type;
  }
  // Overflow (unexamined text) cannot be masked.
  EXPECT_EQ(ResolvedPolicy(o, "x", "y", Direction::kRequest).action_for("overflow"),
            PiiAction::kReject);
  EXPECT_EQ(ResolvedPolicy(o, "x", "search", Direction::kRequest).action_for("overflow"),
            PiiAction::kAllow);
}

TEST(Policy, InvalidConfigNamesTheKey) {
  struct C {
    const char* json;
    const char* key;
  } cases[] = {
      {R"({"default": "drop"})", "pii.default"},
      {R"({"types": {"rrn": "nope"}})", "pii.types.rrn"},
      {R"({"servers": {"crm": {"tools": {"x": {"action": 3}}}}})",
       "pii.servers.crm.tools.x.action"},
      {R"({"directions": {"sideways": "mask"}})", "pii.directions.sideways"},
      {R"({"min_confidence": 2})", "pii.min_confidence"},
      {R"({"bogus": 1})", "pii.bogus"},
      {R"({"tools": {"t": {"colour": "red"}}})", "pii.tools.t.colour"},
  };
  for (const auto& c : cases) {
    try {
      opts(c.json);
      ADD_FAILURE() << c.json;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(c.key), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace bastion::pii
