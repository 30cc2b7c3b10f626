#include "auth/client_metadata.hpp"

#include <gtest/gtest.h>

namespace bastion::auth {
namespace {

namespace json = boost::json;

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

TEST(ClientMetadata, CursorsRegistrationIsAcceptedWhole) {
  // What Cursor sends to a registration endpoint: three kinds of redirect URI in one request.
  auto m = parse_client_metadata(obj(R"J({
      "client_name": "Cursor",
      "redirect_uris": ["cursor://anysphere.cursor-mcp/oauth/callback",
                        "https://www.cursor.com/agents/mcp/oauth/callback",
                        "http://localhost:8787/callback"],
      "grant_types": ["authorization_code", "refresh_token"],
      "response_types": ["code"],
      "token_endpoint_auth_method": "none"})J"),
                                 MetadataSource::kRegistration);
  ASSERT_TRUE(m) << m.reason();
  EXPECT_EQ(m->redirect_uris.size(), 3u);
  EXPECT_EQ(m->auth_method, AuthMethod::kNone);
  EXPECT_TRUE(m->has_grant("refresh_token"));
  // Declared native: the same. Declared web: loopback and cursor:// are not for web apps.
  auto native = obj(R"J({"application_type":"native","redirect_uris":[
      "cursor://anysphere.cursor-mcp/oauth/callback","http://localhost:8787/callback"]})J");
  EXPECT_TRUE(parse_client_metadata(native, MetadataSource::kRegistration));
  native["application_type"] = "web";
  auto web = parse_client_metadata(native, MetadataSource::kRegistration);
  ASSERT_FALSE(web);
  EXPECT_EQ(split_metadata_error(web.reason()).first, "invalid_redirect_uri");
}

TEST(ClientMetadata, Defaults) {
  auto m = parse_client_metadata(obj(R"J({"redirect_uris":["https://c.example/cb"]})J"),
                                 MetadataSource::kRegistration);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->auth_method, AuthMethod::kSecretBasic);  // RFC 7591 §2 default
  EXPECT_EQ(m->grant_types, std::vector<std::string>{"authorization_code"});
  EXPECT_EQ(m->response_types, std::vector<std::string>{"code"});
  auto d = parse_client_metadata(obj(R"J({"client_id":"https://c.example/m.json","client_name":"C",
              "redirect_uris":["https://c.example/cb"]})J"),
                                 MetadataSource::kMetadataDocument);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->auth_method, AuthMethod::kNone);  // a public document has no secret
}

TEST(ClientMetadata, Refusals) {
  struct Case {
    const char* doc;
    MetadataSource source;
    const char* error;
  } cases[] = {
      {R"J({})J", MetadataSource::kRegistration, "invalid_redirect_uri"},
      {R"J({"redirect_uris":"https://c.example/cb"})J", MetadataSource::kRegistration,
       "invalid_client_metadata"},
      {R"J({"redirect_uris":["https://c.example/cb","javascript:alert(1)"]})J",
       MetadataSource::kRegistration, "invalid_redirect_uri"},
      {R"J({"redirect_uris":["http://evil.example/cb"]})J", MetadataSource::kRegistration,
       "invalid_redirect_uri"},
      {R"J({"redirect_uris":["https://c.example/cb#x"]})J", MetadataSource::kRegistration,
       "invalid_redirect_uri"},
      {R"J({"redirect_uris":["https://c.example/cb"],"grant_types":["implicit"]})J",
       MetadataSource::kRegistration, "invalid_client_metadata"},
      {R"J({"redirect_uris":["https://c.example/cb"],"grant_types":["client_credentials"]})J",
       MetadataSource::kRegistration, "invalid_client_metadata"},
      {R"J({"redirect_uris":["https://c.example/cb"],"response_types":["token"]})J",
       MetadataSource::kRegistration, "invalid_client_metadata"},
      {R"J({"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"client_secret_jwt"})J",
       MetadataSource::kRegistration, "invalid_client_metadata"},
      {R"J({"redirect_uris":["https://c.example/cb"],"token_endpoint_auth_method":"private_key_jwt"})J",
       MetadataSource::kRegistration, "invalid_client_metadata"},
      {R"J({"redirect_uris":["https://c.example/cb"],"jwks_uri":"http://c.example/jwks"})J",
       MetadataSource::kRegistration, "invalid_client_metadata"},
      {R"J({"redirect_uris":["https://c.example/cb"],"application_type":"desktop"})J",
       MetadataSource::kRegistration, "invalid_client_metadata"},
      {R"J({"redirect_uris":["https://c.example/cb"],"client_name":"a\u0000b"})J",
       MetadataSource::kRegistration, "invalid_client_metadata"},
      {R"J({"redirect_uris":["https://c.example/cb"],"client_uri":"javascript:x"})J",
       MetadataSource::kRegistration, "invalid_client_metadata"},
      {R"J({"redirect_uris":["https://c.example/cb"],"scope":"a \"b"})J",
       MetadataSource::kRegistration, "invalid_client_metadata"},
      // Metadata documents: no secrets, client_id and client_name required.
      {R"J({"client_id":"https://c.example/m","client_name":"C","redirect_uris":["https://c.example/cb"],
           "token_endpoint_auth_method":"client_secret_basic"})J",
       MetadataSource::kMetadataDocument, "invalid_client_metadata"},
      {R"J({"client_id":"https://c.example/m","client_name":"C","redirect_uris":["https://c.example/cb"],
           "client_secret":"s"})J",
       MetadataSource::kMetadataDocument, "invalid_client_metadata"},
      {R"J({"client_name":"C","redirect_uris":["https://c.example/cb"]})J",
       MetadataSource::kMetadataDocument, "invalid_client_metadata"},
      {R"J({"client_id":"https://c.example/m","redirect_uris":["https://c.example/cb"]})J",
       MetadataSource::kMetadataDocument, "invalid_client_metadata"},
  };
  for (const auto& c : cases) {
    auto m = parse_client_metadata(obj(c.doc), c.source);
    ASSERT_FALSE(m) << c.doc;
    EXPECT_EQ(split_metadata_error(m.reason()).first, c.error) << c.doc << ": " << m.reason();
  }
  std::string many = R"J({"redirect_uris":[)J";
  for (int i = 0; i < 21; ++i)
    many += std::string(i ? "," : "") + "\"https://c.example/" + std::to_string(i) + "\"";
  many += "]}";
  EXPECT_FALSE(parse_client_metadata(obj(many), MetadataSource::kRegistration));
}

TEST(ClientMetadata, PrivateKeyJwtNeedsKeys) {
  auto m = parse_client_metadata(obj(R"J({"client_id":"https://c.example/m","client_name":"ChatGPT",
              "redirect_uris":["https://chatgpt.com/connector_platform_oauth_redirect"],
              "token_endpoint_auth_method":"private_key_jwt",
              "jwks_uri":"https://c.example/jwks.json"})J"),
                                 MetadataSource::kMetadataDocument);
  ASSERT_TRUE(m) << m.reason();
  EXPECT_EQ(m->auth_method, AuthMethod::kPrivateKeyJwt);
  auto j = m->to_json();
  EXPECT_EQ(j.at("jwks_uri").as_string(), "https://c.example/jwks.json");
  EXPECT_FALSE(j.contains("client_secret"));
}

TEST(ClientMetadata, ClientIdUrls) {
  EXPECT_TRUE(check_client_id_url("https://app.example.com/oauth/client-metadata.json"));
  EXPECT_TRUE(check_client_id_url("https://app.example.com:8443/m?v=1"));
  EXPECT_FALSE(check_client_id_url("http://app.example.com/m"));
  EXPECT_FALSE(check_client_id_url("https://app.example.com"));
  EXPECT_FALSE(check_client_id_url("https://app.example.com/"));
  EXPECT_FALSE(check_client_id_url("https://app.example.com/m#x"));
  EXPECT_FALSE(check_client_id_url("https://u:p@app.example.com/m"));
  EXPECT_FALSE(check_client_id_url("https://app.example.com/a/../m"));
  EXPECT_FALSE(check_client_id_url("https://app.example.com/./m"));
  EXPECT_TRUE(is_client_id_url("https://x/y"));
  EXPECT_FALSE(is_client_id_url("mcp-client"));
}

}  // namespace
}  // namespace bastion::auth
