// Configuration of Bastion's OAuth2 authorization server and bearer-token
// protection of /mcp. A plain struct with a default per field; the config
// module reads the `auth` section of the file into it with options_from_json.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auth/signin_options.hpp"
#include "config/config.hpp"

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

// An issuer whose tokens are accepted besides our own, held to the same
// rules (RFC 9068: typ at+jwt, iss, aud, sub, client_id, iat, exp, jti).
struct ExternalIssuer {
  std::string issuer;    // exact `iss` of its tokens
  std::string jwks_url;  // its public keys (http:// to this machine), fetched in the background
  // false: its tokens may also come without `typ` or with typ "JWT" (for
  // providers that do not set at+jwt). Every claim above is still required.
  bool require_typ = true;
};

// Backoff after failed client authentication at the token, introspection and
// revocation endpoints. A failure (wrong secret, unknown client id) counts
// for the pair (client id, source), for the source and for the client id;
// past a key's free failures each further one locks that key for 1, 2, 4, ...
// seconds up to its cap. A locked request gets 429 with Retry-After and its
// secret is not checked. Failures are forgotten after `forget_after` without
// one. The client-wide lock does not apply to a source that authenticated as
// that client in the last 24 hours, so an attacker who knows a client id
// cannot lock its usual hosts out.
struct LockoutOptions {
  int pair_free = 5;                            // per client id and source
  int source_free = 20;                         // per source, any client id
  int client_free = 20;                         // per client id, any source
  std::chrono::seconds max_backoff{900};        // cap for the pair and source locks
  std::chrono::seconds client_max_backoff{60};  // cap for the client-wide lock
  std::chrono::seconds forget_after{900};
  std::size_t max_entries = 10000;  // per table; the least recently used go first
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
  // Issuers whose tokens are also accepted (config: external_issuers, or the
  // one-issuer shorthand external_issuer + external_jwks_url). Their tokens
  // are checked against `audience`.
  std::vector<ExternalIssuer> external_issuers;
  LockoutOptions lockout;
  // Peers (IP addresses) whose X-Forwarded-For names the client's address:
  // the reverse proxies in front. Empty: the TCP peer is the source.
  std::vector<std::string> trusted_proxies;
  // argon2id verifications run on this many low-priority threads, never on
  // the I/O threads; at most `hash_queue` wait, and at most 2 per source.
  std::size_t hash_threads = 1;
  std::size_t hash_queue = 16;
  // Failed authentications (token endpoint, 401) are audited once per
  // client, source and interval: the first at once, the rest as a count.
  std::chrono::seconds failure_audit_interval{60};
  // Largest token accepted anywhere (header, form field).
  std::size_t max_token_bytes = 8192;
  // Access tokens remembered after their signature checked out (by SHA-256,
  // least recently used evicted), so a client's repeated token is not
  // verified again on every request. Expiry, revocation and the signing key
  // are still checked on each use. 0 turns it off.
  std::size_t token_cache = 10000;
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

// Reads the `auth` section's own keys from `section` over `defaults` (a key
// that is absent keeps its default). Wrong types and values throw
// config::ConfigError with FILE:LINE:COL and the key. Durations are integer
// seconds. The sub-sections other modules own (auth.login, auth.access) are
// not read here: the caller reads them from the same Reader, then calls
// section.finish() so that an unknown key is refused.
Options read_options(config::Reader& section, Options defaults = {});

// Normalizes (drops trailing '/') and checks an issuer URL: absolute http(s),
// a host, no query or fragment. Throws std::invalid_argument naming auth.issuer.
std::string validate_issuer(std::string issuer);

}  // namespace bastion::auth
