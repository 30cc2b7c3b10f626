#include "console/redact.hpp"

#include <gtest/gtest.h>

namespace bastion::console {
namespace {

namespace json = boost::json;

TEST(RedactConfig, SecretsGoStructureStays) {
  auto in = json::parse(R"({
    "auth": {"clients": [{"id": "ci", "secret_hash": "$argon2id$x", "scopes": ["a"]}],
             "token_lifetime": 3600},
    "servers": {"gh": {"command": ["npx", "gh"], "env": {"GITHUB_TOKEN": "ghp_x", "DEBUG": "1"},
                       "headers": {"Authorization": "Bearer abc"},
                       "secret_env": {"API_KEY": "gh-key"}}},
    "security": {"fernet_key": "abc", "api_key": "k", "client_password": "p"}
  })");
  auto out = redact_config(in);
  auto s = json::serialize(out);
  for (auto leaked : {"$argon2id$x", "ghp_x", "Bearer abc", "\"abc\"", "\"k\"", "\"p\""})
    EXPECT_EQ(s.find(leaked), std::string::npos) << leaked << " in " << s;
  EXPECT_EQ(out.at_pointer("/auth/clients/0/id"), "ci");
  EXPECT_EQ(out.at_pointer("/auth/token_lifetime"), 3600);
  EXPECT_EQ(out.at_pointer("/servers/gh/env/GITHUB_TOKEN"), json::value(json::string(kRedacted)));
  EXPECT_EQ(out.at_pointer("/servers/gh/env/DEBUG"),
            json::value(json::string(kRedacted)));  // env is never shown
  EXPECT_EQ(out.at_pointer("/servers/gh/command/0"), "npx");
  // secret_env holds names of secrets, not values: the section stays.
  EXPECT_TRUE(out.at_pointer("/servers/gh/secret_env").is_object());
}

TEST(RedactConfig, KnownSecretValuesAnywhere) {
  auto in = json::parse(R"({"servers": {"x": {"args": ["--key=sup3rsecret"]}}})");
  auto out = redact_config(in, [](std::string_view s) {
    std::string r(s);
    if (auto p = r.find("sup3rsecret"); p != std::string::npos) r.replace(p, 11, "***");
    return r;
  });
  EXPECT_EQ(out.at_pointer("/servers/x/args/0"), "--key=***");
}

// An upstream URL's query string (?api_key=...) and userinfo (user:pass@)
// are credentials the redactor may not know: never shown.
TEST(RedactConfig, UrlUserinfoAndQueryAnywhere) {
  auto in = json::parse(R"({"servers": {
    "q": {"url": "http://api.example:8080/mcp?api_key=sk-live-q1w2e3r4"},
    "u": {"url": "http://bob:hunter2hunter2@api.example/mcp"},
    "plain": {"url": "http://127.0.0.1:9000/mcp"}}})");
  auto out = redact_config(in);
  auto s = json::serialize(out);
  for (auto leaked : {"sk-live-q1w2e3r4", "api_key", "bob", "hunter2hunter2"})
    EXPECT_EQ(s.find(leaked), std::string::npos) << leaked << " in " << s;
  EXPECT_EQ(out.at_pointer("/servers/q/url"), "http://api.example:8080/mcp?[redacted]");
  EXPECT_EQ(out.at_pointer("/servers/u/url"), "http://[redacted]@api.example/mcp");
  EXPECT_EQ(out.at_pointer("/servers/plain/url"), "http://127.0.0.1:9000/mcp");
}

TEST(RedactConfig, KeyNames) {
  for (auto k : {"secret", "client_secret", "PASSWORD", "api_key", "Authorization", "cookie_salt"})
    EXPECT_TRUE(secret_key_name(k)) << k;
  for (auto k : {"command", "url", "scopes", "secret_env", "token_lifetime", "path"})
    EXPECT_FALSE(secret_key_name(k)) << k;
}

}  // namespace
}  // namespace bastion::console
