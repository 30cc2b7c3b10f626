// Sign-in clients' metadata (auth::parse_client_metadata): what a Dynamic
// Client Registration request body and a fetched Client ID Metadata Document
// hold, both attacker-written, and the redirect URI and PKCE rules applied
// to them and to authorization requests. Input: a JSON text (the document);
// after a NUL byte, lines of "registered\trequested" redirect URI pairs and
// code verifiers. Promises checked: a parsed document's every redirect URI
// passes check_redirect_uri on its own and matches itself; errors are RFC
// 7591 codes; a parsed document re-parses from its own to_json() to the same
// members; a match of a loopback URI never crosses host, scheme or path; a
// verifier is valid only with 43-128 unreserved characters, and its S256
// challenge is valid and matches it.
#include <boost/json.hpp>

#include "auth/client_metadata.hpp"
#include "auth/redirect_uri.hpp"
#include "fuzz_util.hpp"

namespace {

using namespace bastion;
using namespace bastion::auth;
namespace json = boost::json;

void check_document(const json::object& doc, MetadataSource source) {
  auto parsed = parse_client_metadata(doc, source);
  if (!parsed) {
    auto [code, why] = split_metadata_error(parsed.reason());
    FUZZ_CHECK(code == "invalid_redirect_uri" || code == "invalid_client_metadata");
    FUZZ_CHECK(!why.empty());
    return;
  }
  const ClientMetadata& m = parsed.value();
  const bool web = m.application_type == "web";
  for (const auto& uri : m.redirect_uris) {
    FUZZ_CHECK(check_redirect_uri(uri, web));
    FUZZ_CHECK(redirect_uri_matches(uri, uri));
    FUZZ_CHECK(uri.find('#') == std::string::npos);
  }
  if (source == MetadataSource::kMetadataDocument) {
    FUZZ_CHECK(m.auth_method != AuthMethod::kSecretBasic && m.auth_method != AuthMethod::kSecretPost);
  }
  // What the registry echoes parses again to the same client.
  json::object echoed = m.to_json();
  auto again = parse_client_metadata(echoed, source);
  FUZZ_CHECK(again);
  FUZZ_CHECK(again.value().redirect_uris == m.redirect_uris);
  FUZZ_CHECK(again.value().auth_method == m.auth_method);
  FUZZ_CHECK(again.value().grant_types == m.grant_types);
  FUZZ_CHECK(json::serialize(again.value().to_json()) == json::serialize(echoed));
}

bool unreserved(std::string_view s) {
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  std::string_view doc_text = text.substr(0, text.find('\0'));
  std::string_view rest =
      doc_text.size() < text.size() ? text.substr(doc_text.size() + 1) : std::string_view{};

  json::error_code ec;
  json::value doc = json::parse(doc_text, ec);
  if (!ec && doc.is_object()) {
    for (auto source : {MetadataSource::kRegistration, MetadataSource::kMetadataDocument,
                        MetadataSource::kConfiguration})
      check_document(doc.get_object(), source);
  }

  while (!rest.empty()) {
    std::string_view line = fuzz::take(rest, '\n');
    std::string_view registered = fuzz::take(line, '\t');
    std::string_view requested = line;
    if (auto r = check_redirect_uri(registered); r && redirect_uri_matches(registered, requested)) {
      // A match is the same string or the same loopback URI on another port:
      // the host the user was shown stays the host the code goes to.
      auto q = check_redirect_uri(requested);
      FUZZ_CHECK(q);
      FUZZ_CHECK(q.value().kind == r.value().kind);
      FUZZ_CHECK(q.value().host == r.value().host);
    }
    bool valid = valid_code_verifier(registered);
    FUZZ_CHECK(valid == (registered.size() >= 43 && registered.size() <= 128 && unreserved(registered)));
    if (valid) {
      std::string challenge = pkce_s256(registered);
      FUZZ_CHECK(valid_s256_challenge(challenge));
      FUZZ_CHECK(pkce_s256_matches(registered, challenge));
      FUZZ_CHECK(!pkce_s256_matches(registered, requested) || requested == challenge);
    }
  }
  return 0;
}
