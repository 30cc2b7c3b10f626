#include "auth/client_metadata.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>

#include "auth/redirect_uri.hpp"
#include "auth/scopes.hpp"

namespace bastion::auth {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxRedirectUris = 20;
constexpr std::size_t kMaxShortString = 200;
constexpr std::size_t kMaxUri = 2000;
constexpr std::size_t kMaxScope = 2000;
constexpr std::size_t kMaxContacts = 10;

Error bad_meta(std::string what) { return fail("invalid_client_metadata: " + std::move(what)); }
Error bad_redirect(std::string what) { return fail("invalid_redirect_uri: " + std::move(what)); }

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= 0x20 && c != 0x7f; });
}

Result<std::string> short_string(const json::value& v, std::string_view key,
                                 std::size_t max = kMaxShortString) {
  if (!v.is_string()) return bad_meta(std::string(key) + " must be a string");
  std::string s(v.get_string());
  if (s.size() > max)
    return bad_meta(std::string(key) + " is longer than " + std::to_string(max) + " characters");
  if (!printable(s)) return bad_meta(std::string(key) + " has control characters");
  return s;
}

Result<std::string> web_uri(const json::value& v, std::string_view key) {
  auto s = short_string(v, key, kMaxUri);
  if (!s) return s;
  auto u = boost::urls::parse_absolute_uri(s.value());
  if (!u || (u->scheme() != "https" && u->scheme() != "http") || u->encoded_host().empty())
    return bad_meta(std::string(key) + " must be an absolute http(s) URL");
  return s;
}

Result<std::vector<std::string>> string_array(const json::value& v, std::string_view key,
                                              std::size_t max_items) {
  if (!v.is_array()) return bad_meta(std::string(key) + " must be an array of strings");
  if (v.get_array().size() > max_items)
    return bad_meta(std::string(key) + " has more than " + std::to_string(max_items) + " entries");
  std::vector<std::string> out;
  for (const auto& e : v.get_array()) {
    auto s = short_string(e, key, kMaxUri);
    if (!s) return s.error();
    if (std::find(out.begin(), out.end(), s.value()) == out.end())
      out.push_back(std::move(s.value()));
  }
  return out;
}

}  // namespace

std::string_view auth_method_name(AuthMethod m) {
  switch (m) {
    case AuthMethod::kNone:
      return "none";
    case AuthMethod::kSecretBasic:
      return "client_secret_basic";
    case AuthMethod::kSecretPost:
      return "client_secret_post";
    case AuthMethod::kPrivateKeyJwt:
      return "private_key_jwt";
  }
  return "none";
}

std::optional<AuthMethod> auth_method_from_name(std::string_view n) {
  if (n == "none") return AuthMethod::kNone;
  if (n == "client_secret_basic") return AuthMethod::kSecretBasic;
  if (n == "client_secret_post") return AuthMethod::kSecretPost;
  if (n == "private_key_jwt") return AuthMethod::kPrivateKeyJwt;
  return std::nullopt;
}

bool ClientMetadata::has_grant(std::string_view g) const {
  return std::find(grant_types.begin(), grant_types.end(), g) != grant_types.end();
}

json::object ClientMetadata::to_json() const {
  auto arr = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  json::object o;
  o["client_id"] = client_id;
  if (!client_name.empty()) o["client_name"] = client_name;
  if (!client_uri.empty()) o["client_uri"] = client_uri;
  if (!logo_uri.empty()) o["logo_uri"] = logo_uri;
  o["redirect_uris"] = arr(redirect_uris);
  o["grant_types"] = arr(grant_types);
  o["response_types"] = arr(response_types);
  o["token_endpoint_auth_method"] = auth_method_name(auth_method);
  if (!application_type.empty()) o["application_type"] = application_type;
  if (!scope.empty()) o["scope"] = scope;
  if (jwks) o["jwks"] = *jwks;
  if (!jwks_uri.empty()) o["jwks_uri"] = jwks_uri;
  if (!contacts.empty()) o["contacts"] = arr(contacts);
  if (!software_id.empty()) o["software_id"] = software_id;
  if (!software_version.empty()) o["software_version"] = software_version;
  return o;
}

std::pair<std::string, std::string> split_metadata_error(std::string_view reason) {
  auto colon = reason.find(": ");
  if (colon == std::string_view::npos) return {"invalid_client_metadata", std::string(reason)};
  return {std::string(reason.substr(0, colon)), std::string(reason.substr(colon + 2))};
}

Result<ClientMetadata> parse_client_metadata(const json::object& doc, MetadataSource source) {
  ClientMetadata m;
  bool cimd = source == MetadataSource::kMetadataDocument;
  m.auth_method =
      source == MetadataSource::kRegistration ? AuthMethod::kSecretBasic : AuthMethod::kNone;
  bool have_grants = false, have_responses = false;
  for (const auto& [k, v] : doc) {
    if (k == "client_id") {
      if (source == MetadataSource::kRegistration) continue;  // the server assigns it
      auto s = short_string(v, k, kMaxUri);
      if (!s) return s.error();
      m.client_id = std::move(s.value());
    } else if (k == "client_name") {
      auto s = short_string(v, k);
      if (!s) return s.error();
      m.client_name = std::move(s.value());
    } else if (k == "client_uri" || k == "logo_uri") {
      auto s = web_uri(v, k);
      if (!s) return s.error();
      (k == "client_uri" ? m.client_uri : m.logo_uri) = std::move(s.value());
    } else if (k == "redirect_uris") {
      auto a = string_array(v, k, kMaxRedirectUris);
      if (!a) return a.error();
      m.redirect_uris = std::move(a.value());
    } else if (k == "grant_types") {
      auto a = string_array(v, k, 8);
      if (!a) return a.error();
      m.grant_types = std::move(a.value());
      have_grants = true;
    } else if (k == "response_types") {
      auto a = string_array(v, k, 8);
      if (!a) return a.error();
      m.response_types = std::move(a.value());
      have_responses = true;
    } else if (k == "token_endpoint_auth_method") {
      if (!v.is_string()) return bad_meta("token_endpoint_auth_method must be a string");
      auto am = auth_method_from_name(v.get_string());
      if (!am)
        return bad_meta("token_endpoint_auth_method '" + std::string(v.get_string()) +
                        "' is not supported (none, client_secret_basic, client_secret_post, "
                        "private_key_jwt)");
      m.auth_method = am.value();
    } else if (k == "application_type") {
      if (!v.is_string() || (v.get_string() != "web" && v.get_string() != "native"))
        return bad_meta("application_type must be \"web\" or \"native\"");
      m.application_type = std::string(v.get_string());
    } else if (k == "scope") {
      auto s = short_string(v, k, kMaxScope);
      if (!s) return s.error();
      std::size_t i = 0;
      while (i < s->size()) {
        auto j = s->find(' ', i);
        if (j == std::string::npos) j = s->size();
        if (j > i && !valid_scope_token(std::string_view(s.value()).substr(i, j - i)))
          return bad_meta("scope has a malformed scope token");
        i = j + 1;
      }
      m.scope = std::move(s.value());
    } else if (k == "jwks") {
      if (!v.is_object() || !v.get_object().contains("keys") ||
          !v.get_object().at("keys").is_array())
        return bad_meta("jwks must be a JWK Set ({\"keys\": [...]})");
      if (json::serialize(v).size() > 32 * 1024) return bad_meta("jwks is larger than 32 KiB");
      m.jwks = v.get_object();
    } else if (k == "jwks_uri") {
      auto s = short_string(v, k, kMaxUri);
      if (!s) return s.error();
      auto u = boost::urls::parse_absolute_uri(s.value());
      if (!u || u->scheme() != "https" || u->encoded_host().empty())
        return bad_meta("jwks_uri must be an https URL");
      m.jwks_uri = std::move(s.value());
    } else if (k == "contacts") {
      auto a = string_array(v, k, kMaxContacts);
      if (!a) return a.error();
      m.contacts = std::move(a.value());
    } else if (k == "software_id" || k == "software_version") {
      auto s = short_string(v, k);
      if (!s) return s.error();
      (k == "software_id" ? m.software_id : m.software_version) = std::move(s.value());
    } else if (k == "client_secret" || k == "client_secret_expires_at") {
      if (cimd)
        return bad_meta("a client metadata document is public: it must not carry " +
                        std::string(k));
      // In a registration request the server chooses secrets; ignore.
    }
    // RFC 7591 §2: other members (tos_uri, policy_uri, software_statement,
    // extensions) are ignored, and not echoed back.
  }
  if (!have_grants) m.grant_types = {"authorization_code"};
  if (!have_responses) m.response_types = {"code"};
  for (const auto& g : m.grant_types) {
    if (g == "authorization_code" || g == "refresh_token") continue;
    if (g == "client_credentials" && source == MetadataSource::kConfiguration) continue;
    if (g == "client_credentials")
      return bad_meta(
          "client_credentials is for clients the administrator configures (auth.clients), "
          "not for registered clients");
    return bad_meta("grant type '" + g + "' is not supported (authorization_code, refresh_token)");
  }
  for (const auto& r : m.response_types)
    if (r != "code") return bad_meta("response type '" + r + "' is not supported (code)");
  bool code_grant = m.has_grant("authorization_code");
  bool code_response =
      std::find(m.response_types.begin(), m.response_types.end(), "code") != m.response_types.end();
  if (code_grant != code_response && source != MetadataSource::kConfiguration)
    return bad_meta(
        "grant_types authorization_code and response_types code go together (RFC 7591 §2.1)");
  if (code_grant && m.redirect_uris.empty())
    return bad_redirect("redirect_uris is required for the authorization_code grant");
  bool web = m.application_type == "web";
  for (const auto& u : m.redirect_uris) {
    auto r = check_redirect_uri(u, web);
    if (!r) return bad_redirect(u + ": " + r.reason());
  }
  if (m.auth_method == AuthMethod::kPrivateKeyJwt) {
    if (!m.jwks && m.jwks_uri.empty())
      return bad_meta("private_key_jwt needs the client's public keys: jwks or jwks_uri");
  }
  if (m.jwks && !m.jwks_uri.empty()) return bad_meta("give jwks or jwks_uri, not both");
  if (cimd) {
    if (m.auth_method == AuthMethod::kSecretBasic || m.auth_method == AuthMethod::kSecretPost)
      return bad_meta("a client metadata document cannot use a shared secret (" +
                      std::string(auth_method_name(m.auth_method)) + ")");
    if (m.client_id.empty()) return bad_meta("client_id is required in a metadata document");
    if (m.client_name.empty()) return bad_meta("client_name is required in a metadata document");
  }
  return m;
}

bool is_client_id_url(std::string_view id) { return id.rfind("https://", 0) == 0; }

Status check_client_id_url(std::string_view url) {
  if (url.size() > kMaxUri) return fail("client_id URL is longer than 2000 characters");
  for (unsigned char c : url)
    if (c <= 0x20 || c >= 0x7f) return fail("client_id URL has spaces or non-ASCII characters");
  auto u = boost::urls::parse_uri(url);
  if (!u) return fail("client_id is not a URL");
  if (u->scheme() != "https") return fail("a client_id URL must be https");
  if (u->has_fragment()) return fail("a client_id URL must not have a fragment");
  if (u->has_userinfo()) return fail("a client_id URL must not have a user name or password");
  if (u->encoded_host().empty()) return fail("a client_id URL needs a host");
  std::string_view path = u->encoded_path();
  if (path.empty() || path == "/") return fail("a client_id URL must have a path");
  std::string p(path);
  p += '/';
  for (std::string_view dot : {"/./", "/../", "/%2e/", "/%2E/", "/%2e%2e/", "/%2E%2E/", "/.%2e/",
                               "/%2e./", "/.%2E/", "/%2E./"})
    if (p.find(dot) != std::string::npos)
      return fail("a client_id URL must not have . or .. segments");
  return ok_status();
}

}  // namespace bastion::auth
