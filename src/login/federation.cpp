// Federated login (the LoginInteraction members that talk to external
// OpenID Connect providers): authorization code + PKCE + nonce against the
// provider, state bound to this browser, the ID token verified (signature by
// the provider's JWKS, iss, aud, azp, exp, iat, nonce), claims mapped to a
// subject "<provider>|<sub>" and groups.
#include <spdlog/spdlog.h>

#include <memory>
#include <utility>

#include "auth/form.hpp"
#include "auth/jwk.hpp"
#include "auth/jws.hpp"
#include "auth/jwt.hpp"
#include "login/http_client.hpp"
#include "login/interaction.hpp"
#include "protocol/form.hpp"

namespace bastion::login {

namespace http = web::http;
namespace json = boost::json;
using web::format;
using web::Html;

namespace {

constexpr std::int64_t kStateLifetime = 600;
constexpr std::int64_t kDiscoveryLifetime = 3600;
constexpr std::int64_t kClockSkew = 60;

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

void LoginInteraction::init_providers() {
  for (const auto& po : options_.providers) {
    auto p = std::make_unique<Provider>();
    p->o = po;
    providers_.push_back(std::move(p));
  }
}

LoginInteraction::Provider* LoginInteraction::provider(std::string_view name) const {
  for (const auto& p : providers_)
    if (p->o.name == name) return p.get();
  return nullptr;
}

namespace {

struct Discovered {
  std::string authorization_endpoint, token_endpoint, jwks_uri;
};

// Fetches and checks the provider's discovery document (no lock held).
auth::Result<Discovered> fetch_discovery(const ProviderOptions& o) {
  HttpCall call;
  call.url = o.issuer + "/.well-known/openid-configuration";
  call.ca_file = o.ca_file;
  auto r = http_call(call);
  if (!r) return r.error();
  if (r.value().status != 200)
    return auth::fail("discovery answered HTTP " + std::to_string(r.value().status));
  boost::system::error_code ec;
  auto doc = json::parse(r.value().body, ec);
  if (ec || !doc.is_object()) return auth::fail("discovery document is not a JSON object");
  const auto& d = doc.get_object();
  // OpenID Connect Discovery §4.3: the issuer must be exactly the configured one.
  if (str(d, "issuer") != o.issuer && str(d, "issuer") != o.issuer + "/")
    return auth::fail("discovery names another issuer: " + str(d, "issuer"));
  Discovered out{str(d, "authorization_endpoint"), str(d, "token_endpoint"), str(d, "jwks_uri")};
  for (const std::string* u : {&out.authorization_endpoint, &out.token_endpoint, &out.jwks_uri})
    if (u->rfind("https://", 0) != 0 && !loopback_http_url(*u))
      return auth::fail("discovery lists an endpoint that is not https: '" + *u + "'");
  return out;
}

auth::FetchFn jwks_fetcher(std::string ca) {
  return [ca = std::move(ca)](const std::string& url) -> auth::Result<std::string> {
    HttpCall c;
    c.url = url;
    c.ca_file = ca;
    auto r = http_call(c);
    if (!r) return r.error();
    if (r.value().status != 200)
      return auth::fail("JWKS answered HTTP " + std::to_string(r.value().status));
    return r.value().body;
  };
}

}  // namespace

auth::Status LoginInteraction::discover(Provider& p) const {
  auto fresh = [&] {
    return !p.token_endpoint.empty() && clock_() - p.discovered_at < kDiscoveryLifetime;
  };
  {
    std::lock_guard lock(p.mu);
    if (fresh()) return auth::ok_status();
  }
  // One discovery per provider at a time, and nobody queues behind it: a
  // stalled provider holds one route thread (for at most the call's
  // deadline), not all of them. Meanwhile others use what was found before.
  std::unique_lock fetching(p.discovering, std::try_to_lock);
  if (!fetching.owns_lock()) {
    std::lock_guard lock(p.mu);
    if (!p.token_endpoint.empty()) return auth::ok_status();
    return auth::fail("the provider is being contacted by another sign-in");
  }
  {
    std::lock_guard lock(p.mu);
    if (fresh()) return auth::ok_status();  // found meanwhile
  }
  auto found = fetch_discovery(p.o);
  if (!found) return found.error();
  std::shared_ptr<auth::ExternalJwks> replaced;  // stopped (joined) after the lock is released
  std::lock_guard lock(p.mu);
  p.authorization_endpoint = found->authorization_endpoint;
  p.token_endpoint = found->token_endpoint;
  if (found->jwks_uri != p.jwks_uri || !p.jwks) {
    p.jwks_uri = found->jwks_uri;
    replaced = std::exchange(
        p.jwks, std::make_shared<auth::ExternalJwks>(auth::ExternalJwksOptions{.url = p.jwks_uri},
                                                     jwks_fetcher(p.o.ca_file), clock_));
  }
  p.discovered_at = clock_();
  return auth::ok_status();
}

std::vector<std::string> LoginInteraction::provider_origins() const {
  std::vector<std::string> out;
  for (const auto& p : providers_) {
    std::string o;
    {
      std::lock_guard lock(p->mu);
      o = web::origin_of(p->authorization_endpoint);
    }
    if (o.empty()) o = web::origin_of(p->o.issuer);
    out.push_back(o);
  }
  return out;
}

Html LoginInteraction::provider_buttons(const Ctx& c, std::string_view pending_id) const {
  Html out;
  for (const auto& p : providers_)
    out += format(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"id\" value=\"{}\">"
        "<input type=\"hidden\" name=\"provider\" value=\"{}\">{}<button type=\"submit\" "
        "class=\"secondary wide\">Sign in with {}</button></form>",
        {url("/signin/federated"), pending_id, p->o.name,
         web::csrf_field(key_, browser_id(c), "federated:" + std::string(pending_id)),
         p->o.display_name});
  return out;
}

auth::Outcome LoginInteraction::post_federated(Ctx& c) {
  auto form = protocol::parse_form(c.req.body());
  const std::string* id = form ? form->get("id") : nullptr;
  const std::string* name = form ? form->get("provider") : nullptr;
  std::string pid = id ? *id : "";
  std::string binding = browser_id(c);
  if (!form || !name || !web::same_origin_request(c.req, origin_) ||
      !web::csrf_valid(key_, binding, "federated:" + pid, form->get(web::kCsrfField)))
    return auth::Page{error_page(c, http::status::forbidden, "This form has expired",
                                 "The sign-in form was not accepted: it came from another site, "
                                 "or it is too old.")};
  Provider* p = provider(*name);
  if (!p)
    return auth::Page{error_page(c, http::status::bad_request, "Unknown identity provider",
                                 "This Bastion has no identity provider by that name.")};
  if (!pid.empty() && !c.host.find_pending(pid))
    return auth::Page{error_page(c, http::status::bad_request, "This sign-in has expired",
                                 "This sign-in request is no longer valid: it expired, or it "
                                 "was already completed.")};
  if (auto d = discover(*p); !d.ok()) {
    spdlog::warn("sign-in: provider {}: {}", p->o.name, d.reason());
    return auth::Page{error_page(c, http::status::bad_gateway, "Sign-in is unavailable",
                                 p->o.display_name + " cannot be reached right now. Try again "
                                                     "later, or sign in another way.")};
  }
  std::string state = auth::b64url_encode(auth::random_bytes(32));
  std::string nonce = auth::b64url_encode(auth::random_bytes(32));
  std::string verifier = auth::b64url_encode(auth::random_bytes(32));
  std::string challenge = auth::b64url_encode(auth::sha256(verifier));
  json::object rec{{"provider", p->o.name},
                   {"pending", pid},
                   {"browser", auth::b64url_encode(auth::sha256(binding))},
                   {"nonce", nonce},
                   {"verifier", verifier}};
  auto created = federation_.create(state, rec, clock_() + kStateLifetime);
  if (!created || !created.value())
    return auth::Page{error_page(c, http::status::internal_server_error, "Sign-in failed",
                                 "Bastion could not start the sign-in. Try again later.")};
  std::string scope;
  for (const auto& s : p->o.scopes) scope += (scope.empty() ? "" : " ") + s;
  std::string authz;
  {
    std::lock_guard lock(p->mu);
    authz = p->authorization_endpoint;
  }
  std::string location =
      authz + (authz.find('?') == std::string::npos ? "?" : "&") +
      protocol::encode_form({{"response_type", "code"},
                             {"client_id", p->o.client_id},
                             {"redirect_uri", url("/signin/callback/" + p->o.name)},
                             {"scope", scope},
                             {"state", state},
                             {"nonce", nonce},
                             {"code_challenge", challenge},
                             {"code_challenge_method", "S256"}});
  auto res = web::see_other(c.req.version(), location);
  return auth::Page{std::move(res)};
}

auth::Outcome LoginInteraction::federated_callback(Ctx& c, std::string_view name) {
  Provider* p = provider(name);
  auto q = protocol::parse_query(c.req.target());
  const std::string* state = q ? q->get("state") : nullptr;
  auto failed = [&](std::string why) {
    audit({{"event_type", "login_failed"},
           {"idp", std::string(name)},
           {"reason", why},
           {"source", std::string(c.source)}});
    spdlog::info("sign-in with {} failed: {}", name, why);
    return auth::Page{error_page(c, http::status::bad_request, "Sign-in failed",
                                 "Signing in with " + (p ? p->o.display_name : std::string(name)) +
                                     " did not work: " + why + ".")};
  };
  if (!p) return failed("unknown identity provider");
  if (!state || state->empty() || state->size() > 128) return failed("the answer has no state");
  auto taken = federation_.take(*state);
  if (taken.state != auth::RecordStore::Taken::State::kTaken)
    return failed(taken.state == auth::RecordStore::Taken::State::kReplayed
                      ? "this answer was already used"
                      : "the sign-in expired or was not started here");
  const auto& rec = taken.record;
  // Login CSRF: the answer must come back to the browser that started it.
  if (str(rec, "provider") != p->o.name ||
      str(rec, "browser") != auth::b64url_encode(auth::sha256(browser_id(c))))
    return failed("the answer belongs to another browser");
  // RFC 9207: when the provider names itself, it must be the one we asked.
  if (const std::string* iss = q->get("iss"); iss && *iss != p->o.issuer)
    return failed("the answer names another issuer");
  if (const std::string* err = q->get("error")) {
    const std::string* desc = q->get("error_description");
    return failed("the provider answered " + err->substr(0, 64) +
                  (desc ? " (" + desc->substr(0, 200) + ")" : ""));
  }
  const std::string* code = q->get("code");
  if (!code || code->empty()) return failed("the answer has no code");
  if (auto d = discover(*p); !d.ok()) return failed("the provider cannot be reached");
  HttpCall call;
  call.method = "POST";
  {
    std::lock_guard lock(p->mu);
    call.url = p->token_endpoint;
  }
  call.ca_file = p->o.ca_file;
  // client_secret_basic (RFC 6749 §2.3.1: each part form-urlencoded first).
  call.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"Authorization", auth::basic_authorization(p->o.client_id, p->o.client_secret)}};
  call.body = protocol::encode_form({{"grant_type", "authorization_code"},
                                     {"code", *code},
                                     {"redirect_uri", url("/signin/callback/" + p->o.name)},
                                     {"code_verifier", str(rec, "verifier")}});
  auto r = http_call(call);
  if (!r) return failed("the token request failed (" + r.reason() + ")");
  boost::system::error_code ec;
  auto body = json::parse(r.value().body, ec);
  if (ec || !body.is_object()) return failed("the token answer is not JSON");
  if (r.value().status != 200)
    return failed("the token endpoint answered " + str(body.get_object(), "error"));
  std::string id_token = str(body.get_object(), "id_token");
  if (id_token.empty()) return failed("the provider sent no ID token");

  // The ID token (OpenID Connect Core §3.1.3.7).
  auto header = auth::jws_peek_header(id_token, 16384);
  if (!header) return failed("the ID token is malformed");
  std::string kid = str(header.value(), "kid");
  std::shared_ptr<const auth::Key> key;
  std::shared_ptr<auth::ExternalJwks> jwks;
  {
    std::lock_guard lock(p->mu);
    jwks = p->jwks;
  }
  if (jwks) {
    // The key set is fetched in the background; an ID token (from the
    // provider's own token endpoint, over TLS) may name a key it has not
    // fetched yet: fetch now once (bounded, and with no lock held).
    key = jwks->find(kid);
    if (!key && jwks->refresh()) key = jwks->find(kid);
  }
  if (!key) return failed("the ID token is signed with an unknown key");
  auto verified = auth::jws_verify(id_token, *key, {.max_token_bytes = 16384});
  if (!verified) return failed("the ID token's signature is wrong");
  auto payload = json::parse(verified.value().payload, ec);
  if (ec || !payload.is_object()) return failed("the ID token's claims are not JSON");
  const auto& cl = payload.get_object();
  if (str(cl, "iss") != p->o.issuer) return failed("the ID token is from another issuer");
  bool aud_ok = false;
  std::size_t audiences = 0;
  if (auto* a = cl.if_contains("aud")) {
    if (a->is_string()) {
      aud_ok = a->get_string() == p->o.client_id;
      audiences = 1;
    } else if (a->is_array()) {
      for (const auto& x : a->get_array()) {
        ++audiences;
        aud_ok = aud_ok || (x.is_string() && x.get_string() == p->o.client_id);
      }
    }
  }
  if (!aud_ok) return failed("the ID token is for another client");
  if (audiences > 1 && str(cl, "azp") != p->o.client_id)
    return failed("the ID token's azp is another client");
  auto num = [&](std::string_view k) -> std::optional<std::int64_t> {
    auto* v = cl.if_contains(k);
    if (v && v->is_int64()) return v->get_int64();
    if (v && v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    if (v && v->is_double()) return static_cast<std::int64_t>(v->get_double());
    return std::nullopt;
  };
  std::int64_t now = clock_();
  auto exp = num("exp");
  auto iat = num("iat");
  if (!exp || *exp + kClockSkew <= now) return failed("the ID token has expired");
  if (!iat || *iat > now + kClockSkew) return failed("the ID token is from the future");
  if (str(cl, "nonce") != str(rec, "nonce")) return failed("the ID token's nonce is wrong");
  std::string sub = str(cl, "sub");
  if (sub.empty() || sub.size() > 255) return failed("the ID token names no user");

  Signed u;
  u.subject = p->o.name + "|" + sub;
  u.idp = p->o.name;
  u.display_name = str(cl, "preferred_username");
  if (u.display_name.empty()) u.display_name = str(cl, "email");
  if (u.display_name.empty()) u.display_name = str(cl, "name");
  if (u.display_name.empty()) u.display_name = sub;
  u.display_name += " (" + p->o.display_name + ")";
  auto map_group = [&](std::string_view v) {
    if (auto it = p->o.groups.find(std::string(v)); it != p->o.groups.end())
      u.groups.push_back(it->second);
  };
  if (auto* g = cl.if_contains(p->o.groups_claim)) {
    if (g->is_string()) map_group(g->get_string());
    if (g->is_array())
      for (const auto& x : g->get_array())
        if (x.is_string()) map_group(x.get_string());
  }
  u.auth_time = num("auth_time").value_or(now);
  auto s = new_session(c, u);
  if (!s)
    return auth::Page{error_page(c, http::status::internal_server_error, "Sign-in failed",
                                 "Bastion could not start a session. Try again later.")};
  json::array groups;
  for (const auto& g : u.groups) groups.emplace_back(g);
  audit({{"event_type", "login_succeeded"},
         {"user", u.subject},
         {"idp", u.idp},
         {"groups", std::move(groups)},
         {"source", std::string(c.source)}});
  std::string pid = str(rec, "pending");
  if (pid.empty()) {
    auto res = web::see_other(c.req.version(), url("/account"));
    for (const auto& sc : c.set_cookies) res.insert(http::field::set_cookie, sc);
    return auth::Page{std::move(res)};
  }
  auto pending = c.host.find_pending(pid);
  if (!pending)
    return auth::Page{error_page(c, http::status::bad_request, "This sign-in has expired",
                                 "This sign-in request is no longer valid: it expired, or it "
                                 "was already completed.")};
  return after_login(c, *pending, u, s->id, true);
}

}  // namespace bastion::login

namespace bastion::login {
LoginInteraction::~LoginInteraction() = default;
}  // namespace bastion::login
