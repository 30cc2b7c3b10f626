// Configuration of Bastion's OAuth2 authorization server and bearer-token
// protection of /mcp. A plain struct with a default per field; the config
// module reads the `auth` section of the file into it with options_from_json.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auth/signin_options.hpp"

namespace bastion::auth {

// Seconds since the Unix epoch; injectable so tests can move time.
using Clock = std::function<std::int64_t()>;
std::int64_t system_now();

struct ClientConfig {
  std::string id;           // client_id
  std::string secret_hash;  // "$argon2id$..." from crypto_pwhash_str; never the secret itself
  std::vector<std::string> scopes;          // scopes this client may obtain
  std::vector<std::string> default_scopes;  // granted when the request names none; empty = all
  // Grants this client may use: client_credentials (the default), or for a
  // client that signs users in (has redirect_uris) authorization_code and
  // refresh_token (the default then).
  std::vector<std::string> grant_types = {"client_credentials"};
  // Sign-in clients: the name users see, where codes may go, and how the
  // client authenticates at the token endpoint: client_secret_basic or
  // client_secret_post (secret_hash), none (a public client: no secret),
  // private_key_jwt (jwks or jwks_uri).
  std::string client_name;
  std::vector<std::string> redirect_uris;
  std::string token_endpoint_auth_method;  // "" = client_secret_basic with a secret, else none
  std::optional<boost::json::object> jwks;
  std::string jwks_uri;
};

struct Options {
  // Public base URL of this server: the token `iss`, and the base of every
  // endpoint advertised in metadata. No trailing slash, no query/fragment.
  std::string issuer = "http://127.0.0.1:8080";
  // Token audience (RFC 8707 resource indicator). Empty = issuer + resource_path.
  std::string audience;
  // Path of the protected MCP endpoint (RFC 9728 metadata is published for it).
  std::string resource_path = "/mcp";
  // Signing algorithm for new keys: ES256 (default), RS256, EdDSA or HS256.
  std::string algorithm = "ES256";
  // RSA modulus size when algorithm is RS256 (>= 2048).
  int rsa_bits = 2048;
  // Access token lifetime; also how long a rotated-out key stays in the JWKS.
  std::chrono::seconds token_lifetime{1800};
  // Tolerated clock difference when checking exp/nbf/iat (RFC 8725 §3.10).
  std::chrono::seconds clock_skew{60};
  // Keys and the revocation list live here (created 0700, files 0600).
  std::filesystem::path data_dir = "bastion-data/auth";
  // Registered confidential clients (client_credentials).
  std::vector<ClientConfig> clients;
  // Whether /mcp demands a bearer token (false: anonymous principal).
  bool require_auth = true;
  // Optional external issuer whose tokens are also accepted: its `iss` and
  // its JWKS URL (both empty = none). Its tokens are checked against `audience`.
  std::string external_issuer;
  std::string external_jwks_url;
  // Largest token accepted anywhere (header, form field).
  std::size_t max_token_bytes = 8192;
  // Realm for WWW-Authenticate: Basic on client-auth failures.
  std::string realm = "bastion";
  // The authorization code flow: lifetimes, registration, client metadata
  // documents, the interim test login (auth.signin, auth.registration,
  // auth.client_metadata_documents, auth.test_login).
  SignInSettings signin;

  // The audience actually used (audience or issuer + resource_path).
  std::string effective_audience() const {
    return audience.empty() ? issuer + resource_path : audience;
  }
};

// Builds Options from the JSON `auth` object. Unknown keys and wrong types
// throw std::invalid_argument naming the key ("auth.token_lifetime: expected
// a positive integer (seconds)"). Durations are integer seconds.
Options options_from_json(const boost::json::object& o);

// Normalizes (drops trailing '/') and checks an issuer URL: absolute http(s),
// a host, no query or fragment. Throws std::invalid_argument naming auth.issuer.
std::string validate_issuer(std::string issuer);

}  // namespace bastion::auth
