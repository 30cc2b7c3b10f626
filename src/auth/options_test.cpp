#include "auth/options.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "storage/temp_dir.hpp"

namespace bastion::auth {
namespace {

std::string error_of(std::string_view json_text) {
  try {
    options_from_json(boost::json::parse(json_text).as_object());
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Options, ParsesEverything) {
  auto o = options_from_json(boost::json::parse(R"({
    "issuer": "https://gw.example/", "algorithm": "EdDSA", "token_lifetime": 600,
    "clock_skew": 30, "data_dir": "/var/lib/bastion/auth", "require_auth": false,
    "clients": [{"id": "mcp-client", "secret_hash": "$argon2id$v=19$m=65536,t=2,p=1$wEWN2eUTlgpM/LQpqB6Dnw$aMbQjoQ7HDVu+BkT1yxBMrPSo4N4shaU19CwJj0Jaj0",
                 "scopes": "mcp.access mcp:server:fs", "default_scopes": ["mcp.access"]}]
  })")
                                 .as_object());
  EXPECT_EQ(o.issuer, "https://gw.example");
  EXPECT_EQ(o.effective_audience(), "https://gw.example/mcp");
  EXPECT_EQ(o.algorithm, "EdDSA");
  EXPECT_EQ(o.token_lifetime.count(), 600);
  EXPECT_EQ(o.clients.at(0).scopes.size(), 2u);
  EXPECT_FALSE(o.require_auth);
}

TEST(Options, ErrorsNameTheKey) {
  EXPECT_EQ(error_of(R"({"tokn_lifetime": 5})"), "auth.tokn_lifetime: unknown key");
  EXPECT_EQ(error_of(R"({"token_lifetime": "5"})"), "auth.token_lifetime: expected an integer");
  EXPECT_EQ(error_of(R"({"algorithm": "none"})"),
            "auth.algorithm: must be ES256, RS256, EdDSA or HS256");
  EXPECT_EQ(error_of(R"({"issuer": "ftp://x"})"), "auth.issuer: scheme must be http(s)");
  EXPECT_EQ(error_of(R"({"issuer": "https://x/?a=b"})"),
            "auth.issuer: must not have a query or fragment");
  EXPECT_NE(error_of(R"({"clients": [{"id": "a", "secret_hash": "plain"}]})")
                .find("auth.clients[0].secret_hash"),
            std::string::npos);
  EXPECT_EQ(error_of(R"({"clients": [{"id": "a", "secret_hash": "$argon2id$x", "color": 1}]})"),
            "auth.clients[0].color: unknown key");
  EXPECT_NE(error_of(R"({"external_issuer": "https://idp"})").find("go together"),
            std::string::npos);
}

TEST(Options, SecretHashFromAMountedFile) {
  storage::TempDir dir;
  auto path = dir.path() / "mcp-client.hash";
  std::ofstream(path) << "$argon2id$v=19$m=65536,t=2,p=1$wEWN2eUTlgpM/"
                         "LQpqB6Dnw$aMbQjoQ7HDVu+BkT1yxBMrPSo4N4shaU19CwJj0Jaj0\n";
  auto o =
      options_from_json(boost::json::parse(R"({"clients": [{"id": "a", "secret_hash_file": ")" +
                                           path.string() + R"("}]})")
                            .as_object());
  EXPECT_EQ(o.clients.at(0).secret_hash,
            "$argon2id$v=19$m=65536,t=2,p=1$wEWN2eUTlgpM/"
            "LQpqB6Dnw$aMbQjoQ7HDVu+BkT1yxBMrPSo4N4shaU19CwJj0Jaj0");
  EXPECT_EQ(error_of(R"({"clients": [{"id": "a", "secret_hash_file": "/nonexistent/h"}]})"),
            "auth.clients[0].secret_hash_file: cannot read /nonexistent/h");
  std::ofstream(path) << "hunter2\n";
  EXPECT_NE(
      error_of(R"({"clients": [{"id": "a", "secret_hash_file": ")" + path.string() + R"("}]})")
          .find("must be an $argon2id$ hash"),
      std::string::npos);
}

}  // namespace
}  // namespace bastion::auth
