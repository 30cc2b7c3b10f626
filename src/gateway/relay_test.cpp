#include "gateway/relay.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace bastion::gateway {
namespace {

namespace json = boost::json;

json::object caps(const char* text) { return json::parse(text).as_object(); }

struct RelayCase {
  const char* label;
  const char* method;
  const char* params;
  const char* client_caps;
  RelayOptions relay;
  const char* refusal;  // "" when relayed
};

TEST(RelayRefusal, OnlyWhatTheClientDeclaredAndTheServerMayAsk) {
  const RelayOptions all;
  const RelayOptions no_sampling{false, true, true};
  const RelayOptions no_elicitation{true, false, true};
  const RelayOptions no_roots{true, true, false};
  const RelayCase cases[] = {
      {"sampling declared", "sampling/createMessage", "{}", R"({"sampling":{}})", all, ""},
      {"sampling undeclared", "sampling/createMessage", "{}", R"({"elicitation":{}})", all,
       "did not declare the sampling capability"},
      {"sampling forbidden", "sampling/createMessage", "{}", R"({"sampling":{}})", no_sampling,
       "relay.sampling: false"},
      {"sampling with tools, no tools capability", "sampling/createMessage", R"({"tools":[]})",
       R"({"sampling":{}})", all, "sampling.tools"},
      {"sampling with tools", "sampling/createMessage", R"({"tools":[]})",
       R"({"sampling":{"tools":{}}})", all, ""},
      {"form elicitation, empty capability", "elicitation/create", "{}", R"({"elicitation":{}})",
       all, ""},
      {"form elicitation, form declared", "elicitation/create", R"({"mode":"form"})",
       R"({"elicitation":{"form":{}}})", all, ""},
      {"form elicitation, url only", "elicitation/create", "{}", R"({"elicitation":{"url":{}}})",
       all, "elicitation.form"},
      {"url elicitation, form only", "elicitation/create", R"({"mode":"url"})",
       R"({"elicitation":{}})", all, "elicitation.url"},
      {"url elicitation declared", "elicitation/create", R"({"mode":"url"})",
       R"({"elicitation":{"form":{},"url":{}}})", all, ""},
      {"unknown elicitation mode", "elicitation/create", R"({"mode":"telepathy"})",
       R"({"elicitation":{"form":{},"url":{}}})", all, "unknown elicitation mode"},
      {"elicitation forbidden", "elicitation/create", "{}", R"({"elicitation":{}})", no_elicitation,
       "relay.elicitation: false"},
      {"elicitation undeclared", "elicitation/create", "{}", "{}", all, "elicitation capability"},
      {"elicitation capability not an object", "elicitation/create", "{}",
       R"({"elicitation":true})", all, "elicitation capability"},
      {"roots declared", "roots/list", "{}", R"({"roots":{"listChanged":true}})", all, ""},
      {"roots undeclared", "roots/list", "{}", R"({"sampling":{}})", all, "roots capability"},
      {"roots forbidden", "roots/list", "{}", R"({"roots":{}})", no_roots, "relay.roots: false"},
      {"anything else", "tasks/get", "{}", R"({"sampling":{},"roots":{}})", all,
       "not a request Bastion relays"},
  };
  for (const auto& c : cases) {
    auto r = relay_refusal(c.method, caps(c.params), c.relay, caps(c.client_caps));
    if (std::string_view(c.refusal).empty())
      EXPECT_FALSE(r) << c.label << ": " << *r;
    else
      EXPECT_NE(r.value_or("").find(c.refusal), std::string::npos)
          << c.label << ": " << r.value_or("(relayed)");
  }
}

TEST(UpstreamClientCapabilities, FollowTheRelaySetting) {
  EXPECT_EQ(upstream_client_capabilities({}, false),
            caps(R"({"sampling":{},"elicitation":{},"roots":{}})"));
  EXPECT_EQ(upstream_client_capabilities({}, true),
            caps(R"({"sampling":{},"elicitation":{},"roots":{"listChanged":true}})"));
  EXPECT_EQ(upstream_client_capabilities({false, true, false}, true),
            caps(R"({"elicitation":{}})"));
  EXPECT_EQ(upstream_client_capabilities({false, false, false}, false), json::object{});
}

TEST(DeclaredFor, WhatBothTheRelaySettingAndTheClientAllow) {
  struct Row {
    const char* client_caps;
    RelayOptions relay;
    RelayOptions want;
    const char* name;
  };
  const Row rows[] = {
      {R"({"sampling":{},"elicitation":{},"roots":{}})", {}, {}, "sampling+elicitation+roots"},
      {R"({})", {}, {false, false, false}, "none"},
      {R"({"sampling":{}})", {}, {true, false, false}, "sampling"},
      {R"({"sampling":{"tools":{}},"roots":{"listChanged":true}})", {}, {true, false, true},
       "sampling+roots"},
      // Elicitation counts only with form mode, the one Bastion declares upstream.
      {R"({"elicitation":{"url":{}}})", {}, {false, false, false}, "none"},
      {R"({"elicitation":{"form":{},"url":{}}})", {}, {false, true, false}, "elicitation"},
      // Not objects: not declared.
      {R"({"sampling":true,"elicitation":"yes","roots":[1]})", {}, {false, false, false}, "none"},
      // The relay setting has the last word.
      {R"({"sampling":{},"elicitation":{},"roots":{}})", {false, true, false}, {false, true, false},
       "elicitation"},
  };
  for (const auto& r : rows) {
    RelayOptions got = declared_for(r.relay, caps(r.client_caps));
    EXPECT_TRUE(got == r.want) << r.client_caps;
    EXPECT_EQ(capability_set_name(got), r.name) << r.client_caps;
  }
}

TEST(DeclaredFor, AnyCapabilityObjectsGiveOneOfEightSets) {
  // Whatever a client writes inside its capability objects, the set is one
  // of 2^3: a flood of distinct declarations cannot make more sessions.
  std::set<std::string> names;
  for (int i = 0; i < 200; ++i) {
    json::object c;
    if (i & 1) c["sampling"] = json::object{{"x" + std::to_string(i), i}};
    if (i & 2) c["elicitation"] = json::object{{"form", json::object{{"n", i}}}};
    if (i & 4) c["roots"] = json::object{{"listChanged", i % 3 == 0}};
    c["experimental"] = json::object{{std::to_string(i), true}};
    names.insert(capability_set_name(declared_for({}, c)));
  }
  EXPECT_EQ(names.size(), 8u);
}

}  // namespace
}  // namespace bastion::gateway
