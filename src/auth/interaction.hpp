// The user-facing step of the authorization code flow (login and consent),
// behind one interface, so the protocol half (/oauth2/authorize, codes,
// tokens: authorize.hpp) knows nothing about pages, users or identity
// providers.
//
// The flow, seen from here:
//   1. GET /oauth2/authorize arrives. AuthServer validates the client, the
//      redirect URI, PKCE, scope and resource. A request that fails before the
//      redirect URI is trusted gets an error page; after, an error redirect.
//   2. A valid request becomes a PendingAuthorization, stored server side
//      (data directory, so any replica can resume it) under an opaque random
//      id, for `pending_lifetime` (10 minutes by default).
//   3. AuthServer calls Interaction::begin with it. The interaction answers
//      with a page (login, consent) or at once with a Decision (the user is
//      signed in and has consented before, or prompt=none).
//   4. The interaction's pages post back to paths it owns. AuthServer passes
//      every request it does not own itself to Interaction::handle; when the
//      user is done, handle answers a Decision naming the pending id.
//   5. AuthServer settles the pending authorization exactly once (a second
//      Decision for the same id gets an error page): an Approval becomes an
//      authorization code and a 302 to the client's redirect URI with code,
//      state and iss (RFC 9207); a Denial becomes a 302 with error, state and
//      iss. The scopes in an Approval are cut down to what the client may
//      hold; an approval with no scope left is an access_denied redirect.
//
// Only `id` may travel through the browser (in a form field or the URL);
// state, code_challenge and redirect_uri never leave the server, so a page
// cannot be tricked into sending the code elsewhere.
//
// Thread-safety: AuthServer calls an Interaction from several I/O threads at
// once; implementations must be safe for that. `done` may be called on any
// thread, exactly once, before or after the call returns (an implementation
// that verifies a password on a worker thread calls it from there).
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace bastion::auth {

namespace interaction_http = boost::beast::http;

// How Bastion knows the client.
enum class ClientKind {
  kConfigured,        // auth.clients in the configuration
  kRegistered,        // Dynamic Client Registration (RFC 7591), stored in the data directory
  kMetadataDocument,  // client_id is an https URL to its metadata document (CIMD)
};

// A validated authorization request waiting for the user. Everything here was
// checked by AuthServer; pages show it, never trust the browser's copy of it.
struct PendingAuthorization {
  std::string id;  // opaque, 256 random bits (base64url); the only handle pages carry

  // Who asks. client_name is what the client calls itself (DCR/CIMD
  // metadata, or the configured name); it is the client's claim, so show it
  // next to redirect_host, which is what the code really goes to.
  std::string client_id;
  std::string client_name;
  std::string client_uri;  // the client's home page (metadata), "" when none
  ClientKind client_kind = ClientKind::kConfigured;

  // Where the code goes. redirect_host is the host of redirect_uri (or the
  // scheme for private-use schemes such as cursor://): the spec says the
  // user must be shown it. loopback_redirect: the code goes to this machine
  // (http://127.0.0.1, localhost, [::1]), which any local program can
  // listen on: show a warning.
  std::string redirect_uri;
  std::string redirect_host;
  bool loopback_redirect = false;

  // What is asked for: validated scope tokens (offline_access included when
  // asked), empty when the request named none (grant the user's defaults);
  // the protected resource (RFC 8707) the token will be bound to.
  std::vector<std::string> scopes;
  std::string resource;

  // OpenID Connect hints, passed through as sent ("" when absent).
  // prompt=none: answer with a Decision at once (Denial login_required or
  // consent_required when the user would have to act).
  std::string prompt;
  std::string login_hint;
  std::optional<std::int64_t> max_age;

  std::int64_t created = 0;  // Unix seconds
  std::int64_t expires = 0;

  // Protocol state: AuthServer's, never shown or sent anywhere.
  std::string state;
  std::string code_challenge;  // S256 only
  std::string nonce;           // OIDC, echoed in an id_token when one is issued
};

// The user said yes. `subject` becomes the tokens' `sub` (stable and unique
// per user: a local user's name, or "<idp>|<sub>" for a federated one);
// `scopes` are the ones granted (the interaction decides what the user may
// grant; AuthServer then keeps only what the client may also hold).
struct Approval {
  std::string subject;
  std::vector<std::string> scopes;
  std::int64_t auth_time = 0;  // when the user last authenticated (Unix seconds)
  std::string display_name;    // for logs and audit only
  std::string idp;             // "local", or the federated provider's name; for audit
};

// The user (or policy) said no. error is an RFC 6749 §4.1.2.1 / OIDC code:
// access_denied, login_required, consent_required, interaction_required,
// temporarily_unavailable. description goes to the client: no secrets.
struct Denial {
  std::string error = "access_denied";
  std::string description;
};

using Decision = std::variant<Approval, Denial>;

// Headers the interaction wants on the response that settles a pending
// authorization (its Set-Cookie for a sign-in session, for instance).
using ExtraHeaders = std::vector<std::pair<std::string, std::string>>;

// What the interaction answers for one browser request.
struct Page {
  interaction_http::response<interaction_http::string_body> response;
};
struct Settle {
  std::string pending_id;  // which pending authorization this decides
  Decision decision;
  ExtraHeaders headers;
};
using Outcome = std::variant<Page, Settle>;

// What AuthServer offers the interaction.
class InteractionHost {
 public:
  virtual ~InteractionHost() = default;
  // The pending authorization with this id, if it exists and has not
  // expired or been settled.
  virtual std::optional<PendingAuthorization> find_pending(std::string_view id) const = 0;
  // The issuer (base URL): to build absolute URLs and cookie paths.
  virtual const std::string& issuer() const = 0;
};

class Interaction {
 public:
  using Request = interaction_http::request<interaction_http::string_body>;
  using Done = std::function<void(Outcome)>;

  virtual ~Interaction() = default;

  // A new pending authorization (already stored). `req` is the browser's
  // GET /oauth2/authorize (cookies, Accept-Language); `source` the browser's
  // address as AuthServer sees it (trusted proxies applied), for login
  // throttling. Calls `done` with a page, or with a Settle for p.id.
  virtual void begin(const Request& req, std::string_view source, const PendingAuthorization& p,
                     const InteractionHost& host, Done done) = 0;

  // A request to a path AuthServer does not own (login and consent form
  // posts, the interaction's assets, account pages). Returns false, without
  // calling `done`, when the path is not the interaction's.
  virtual bool handle(const Request& req, std::string_view source, const InteractionHost& host,
                      Done done) = 0;

  // Deletes the interaction's expired state (sessions, state of sign-ins at
  // other providers). AuthServer's housekeeping thread calls it about once a
  // minute, concurrently with the calls above.
  virtual void prune() {}
};

}  // namespace bastion::auth
