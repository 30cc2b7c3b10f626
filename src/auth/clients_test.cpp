#include "auth/clients.hpp"

#include <gtest/gtest.h>

namespace bastion::auth {
namespace {

TEST(Clients, Argon2idHashAndVerify) {
  std::string h = hash_secret("s3cret");
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_TRUE(verify_secret(h, "s3cret"));
  EXPECT_FALSE(verify_secret(h, "s3cret!"));
  EXPECT_FALSE(verify_secret("plaintext", "plaintext"));
  EXPECT_FALSE(verify_secret("$argon2i$v=19$m=4096,t=3,p=1$x$y", "x"));
}

TEST(Clients, CreateClientAndAuthenticate) {
  auto c = create_client("mcp-client", {"mcp.access"});
  ASSERT_TRUE(c) << c.reason();
  EXPECT_GE(c->secret.size(), 43u);
  EXPECT_EQ(c->config_entry().at("secret_hash").as_string(), c->secret_hash);
  EXPECT_EQ(c->config_entry().at("secret_hash").as_string().find(c->secret), std::string::npos);
  ClientRegistry reg({ClientConfig{c->client_id, c->secret_hash, c->scopes, {}}});
  EXPECT_TRUE(reg.authenticate("mcp-client", c->secret));
  EXPECT_TRUE(reg.authenticate("mcp-client", c->secret));  // cached path
  EXPECT_FALSE(reg.authenticate("mcp-client", "wrong"));
  EXPECT_FALSE(reg.authenticate("nobody", c->secret));
  EXPECT_FALSE(create_client("bad name", {}));
  EXPECT_FALSE(create_client("ok", {"bad\"scope"}));
}

}  // namespace
}  // namespace bastion::auth
