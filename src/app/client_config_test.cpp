#include "app/client_config.hpp"

#include <gtest/gtest.h>

namespace bastion::app {
namespace {

namespace json = boost::json;

TEST(ClientConfig, CursorHttpWithBearerHeader) {
  auto c =
      client_config({"cursor", "http://h:1/mcp", "bastion", false, "bastion", "BASTION_TOKEN"});
  const auto& e = c.at("mcpServers").at("bastion").as_object();
  EXPECT_EQ(e.at("url").as_string(), "http://h:1/mcp");
  EXPECT_EQ(e.at("headers").at("Authorization").as_string(), "Bearer ${env:BASTION_TOKEN}");
  EXPECT_FALSE(e.contains("command"));
}

TEST(ClientConfig, ClaudeAlwaysUsesTheStdioBridge) {
  auto c = client_config({"claude", "http://h:1/mcp", "gw", false, "/usr/local/bin/bastion", ""});
  const auto& e = c.at("mcpServers").at("gw").as_object();
  EXPECT_EQ(e.at("command").as_string(), "/usr/local/bin/bastion");
  EXPECT_EQ(json::serialize(e.at("args")), R"(["connect","--url","http://h:1/mcp"])");
  EXPECT_FALSE(e.contains("url"));
}

TEST(ClientConfig, VsCodeHttpAndStdioShapes) {
  auto http = client_config({"vscode", "http://h:1/mcp", "bastion", false, "bastion", ""});
  EXPECT_EQ(http.at("servers").at("bastion").at("type").as_string(), "http");
  auto stdio = client_config({"vscode", "http://h:1/mcp", "bastion", true, "bastion", "TOK"});
  const auto& e = stdio.at("servers").at("bastion").as_object();
  EXPECT_EQ(e.at("type").as_string(), "stdio");
  EXPECT_EQ(e.at("args").as_array().size(), 5u);
  EXPECT_EQ(e.at("args").as_array()[4].as_string(), "Authorization: Bearer ${TOK}");
}

TEST(ClientConfig, ClientCredentialsUseTheBridgeWithoutTheSecret) {
  ClientConfigOptions o;
  o.client = "cursor";
  o.client_id = "cursor-client";
  o.secret_file = "/home/u/.config/bastion/secret";
  auto c = client_config(o);
  const auto& e = c.at("mcpServers").at("bastion").as_object();
  EXPECT_EQ(json::serialize(e.at("args")),
            R"(["connect","--url","http://127.0.0.1:8080/mcp","--client-id","cursor-client",)"
            R"("--client-secret-file","/home/u/.config/bastion/secret"])");
  EXPECT_FALSE(e.contains("url"));
}

TEST(ClientConfig, UnknownClientIsRejected) {
  EXPECT_THROW(client_config({"emacs"}), std::invalid_argument);
}

}  // namespace
}  // namespace bastion::app
