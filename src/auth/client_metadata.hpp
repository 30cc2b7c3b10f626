// OAuth client metadata (RFC 7591 §2, OpenID Connect Registration §2) as
// sign-in clients present it: in a Dynamic Client Registration request, in a
// Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-document),
// or in the configuration. One parser and one set of rules for all three, so
// a client is held to the same redirect URI rules however it arrived.
//
// Thread-safety: pure functions and plain values.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/result.hpp"

namespace bastion::auth {

// Token endpoint client authentication (RFC 7591 §2, RFC 7523).
enum class AuthMethod { kNone, kSecretBasic, kSecretPost, kPrivateKeyJwt };
std::string_view auth_method_name(AuthMethod m);
std::optional<AuthMethod> auth_method_from_name(std::string_view name);

struct ClientMetadata {
  std::string client_id;  // set by the registry (DCR) or the document URL (CIMD)
  std::string client_name;
  std::string client_uri;
  std::string logo_uri;
  std::vector<std::string> redirect_uris;
  std::vector<std::string> grant_types;  // authorization_code, refresh_token[, client_credentials]
  std::vector<std::string> response_types;  // code
  AuthMethod auth_method = AuthMethod::kNone;
  std::string application_type;  // "web", "native", or "" (not said: no web-only restrictions)
  std::string scope;             // scopes the client says it wants (informational)
  std::optional<boost::json::object> jwks;  // for private_key_jwt: keys inline...
  std::string jwks_uri;                     // ...or where to fetch them (https)
  std::vector<std::string> contacts;
  std::string software_id, software_version;

  bool has_grant(std::string_view g) const;
  // The metadata members as RFC 7591 §3.2.1 echoes them (no secret).
  boost::json::object to_json() const;
};

enum class MetadataSource {
  kRegistration,      // RFC 7591 request: auth method defaults to client_secret_basic
  kMetadataDocument,  // CIMD: no shared secrets, default auth method none, client_name required
  kConfiguration,     // auth.clients
};

// Validates `doc`. Errors are RFC 7591 §3.2.2 error codes with a reason:
// the first word of the reason is "invalid_redirect_uri" or
// "invalid_client_metadata", then ": " and what is wrong.
Result<ClientMetadata> parse_client_metadata(const boost::json::object& doc, MetadataSource source);

// "invalid_redirect_uri: ..." -> {"invalid_redirect_uri", "..."}
std::pair<std::string, std::string> split_metadata_error(std::string_view reason);

// A Client ID Metadata Document URL (CIMD §3): https, a path, no fragment,
// no userinfo, no dot segments. Checked before anything is fetched.
Status check_client_id_url(std::string_view url);
// Whether client_id looks like a metadata document URL at all (https://...).
bool is_client_id_url(std::string_view client_id);

}  // namespace bastion::auth
