#include "tools/oauth2_demo_tools.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "auth/test_util.hpp"

namespace bastion::tools {
namespace {

namespace json = boost::json;
using auth::AuthServer;
using auth::ClientConfig;
using auth::create_client;
using auth::NewClient;
using auth::Options;
using auth::testing::TempDir;

struct Tools {
  TempDir tmp;
  std::shared_ptr<AuthServer> as;
  std::vector<server::SyncTool> tools;
  NewClient client = create_client("mcp-client", {"mcp.access"}).value();

  Tools() {
    Options o;
    o.data_dir = tmp.path() / "auth";
    o.clients = {ClientConfig{client.client_id, client.secret_hash, client.scopes, {}}};
    as = std::make_shared<AuthServer>(o);
    tools = oauth2_tools(as);
  }
  json::object call(std::string_view name, json::object args = {},
                    const protocol::Principal& who = protocol::Principal::anonymous()) {
    for (auto& t : tools)
      if (t.definition.at("name").as_string() == name) {
        auto out = t.call(args, who);
        EXPECT_TRUE(out.ok());
        return out.ok() ? out.result() : json::object{};
      }
    ADD_FAILURE() << "no tool " << name;
    return {};
  }
};

TEST(OAuth2Tools, SeedToolNames) {
  Tools t;
  std::vector<std::string> names;
  for (auto& tool : t.tools) names.emplace_back(tool.definition.at("name").as_string());
  EXPECT_EQ(names, (std::vector<std::string>{"get_oauth2_server_status", "create_oauth2_test_token",
                                             "get_oauth2_flow_guide", "validate_oauth2_setup"}));
}

TEST(OAuth2Tools, CreateTokenIsRealAndStatusCountsIt) {
  Tools t;
  auto r =
      t.call("create_oauth2_test_token", {{"scope", "mcp:server:fs"}, {"lifetime_seconds", 60}});
  auto sc = r.at("structuredContent").as_object();
  auto v = t.as->validate(sc.at("access_token").as_string());
  ASSERT_TRUE(v) << v.reason();
  EXPECT_EQ(v->scopes, std::vector<std::string>{"mcp:server:fs"});
  EXPECT_EQ(v->exp - v->iat, 60);
  auto st = t.call("get_oauth2_server_status").at("structuredContent").as_object();
  EXPECT_EQ(st.at("tokens_issued").as_uint64(), 1u);
  EXPECT_EQ(st.at("client_count").as_uint64(), 1u);
  EXPECT_EQ(st.at("active_kid").as_string(), t.as->keys().active()->kid());

  // An authenticated caller cannot escalate through the tool.
  protocol::Principal narrow;
  narrow.authenticated = true;
  narrow.client_id = "mcp-client";
  narrow.scopes = {"mcp:server:fs"};
  EXPECT_TRUE(
      t.call("create_oauth2_test_token", {{"scope", "mcp.access"}}, narrow).contains("isError"));
  narrow.client_id = "someone-else";
  EXPECT_TRUE(t.call("create_oauth2_test_token", {{"client_id", "mcp-client"}}, narrow)
                  .contains("isError"));
}

TEST(OAuth2Tools, GuideUsesRealUrls) {
  Tools t;
  auto r = t.call("get_oauth2_flow_guide");
  std::string text(r.at("content").at(0).at("text").as_string());
  EXPECT_NE(text.find("http://127.0.0.1:8080/oauth2/token"), std::string::npos);
  EXPECT_NE(text.find("curl -u 'mcp-client:SECRET'"), std::string::npos);
}

TEST(OAuth2Tools, ValidateSetupPassesThenCatchesBadPermissions) {
  Tools t;
  auto sc = t.call("validate_oauth2_setup").at("structuredContent").as_object();
  EXPECT_EQ(sc.at("valid"), true) << json::serialize(sc);
  ::chmod(t.as->keys().keys()[0].file.c_str(), 0644);
  sc = t.call("validate_oauth2_setup").at("structuredContent").as_object();
  EXPECT_EQ(sc.at("valid"), false);
  bool found = false;
  for (auto& c : sc.at("checks").as_array())
    if (c.at("status") == "fail")
      found = std::string(c.at("reason").as_string()).find("0644") != std::string::npos;
  EXPECT_TRUE(found) << json::serialize(sc);
}

}  // namespace
}  // namespace bastion::tools
