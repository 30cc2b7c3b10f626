// SignIn's clients and its authorization endpoint: /oauth2/authorize checks
// a request and parks it as a pending authorization for the interaction.
// What the interaction decides becomes the client's redirect in
// signin_settle.cpp; the pages and redirects it answers with are in
// signin_responses.cpp, the token endpoint's grants in signin_tokens.cpp,
// Dynamic Client Registration in signin_registration.cpp.
#include "auth/signin.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/algorithm/string/case_conv.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cctype>

#include "auth/http_util.hpp"
#include "auth/jwk.hpp"
#include "auth/redirect_uri.hpp"
#include "auth/scopes.hpp"
#include "auth/signin_records.hpp"

namespace bastion::auth {

namespace json = boost::json;
namespace http = signin_http;
using Request = SignIn::Request;
using Response = SignIn::Response;
using namespace signin_records;

namespace {

constexpr std::size_t kMaxStateBytes = 2048;

// The query (GET) or body (POST form) of an authorization request.
std::optional<Form> request_params(const Request& req, std::string* err) {
  if (req.method() == http::verb::post) {
    std::string_view ct(req[http::field::content_type].data(),
                        req[http::field::content_type].size());
    ct = trim(ct.substr(0, ct.find(';')));
    if (!iequals(ct, "application/x-www-form-urlencoded")) {
      *err = "Content-Type must be application/x-www-form-urlencoded";
      return std::nullopt;
    }
    if (req.body().size() > 16 * 1024) {
      *err = "request too large";
      return std::nullopt;
    }
    return parse_form(req.body(), err);
  }
  std::string_view t(req.target().data(), req.target().size());
  auto q = t.find('?');
  if (q == std::string_view::npos) return Form{};
  return parse_form(t.substr(q + 1), err);
}

}  // namespace

bool SignIn::registered_secret_matches(const SignInClient& c, std::string_view secret) {
  std::string_view h = c.secret_hash;
  if (h.rfind("sha256:", 0) != 0 || secret.empty() || secret.size() > 512) return false;
  return same(h.substr(7), secret_hash(secret));
}

// --- construction -------------------------------------------------------------

SignIn::SignIn(SignInOptions options, Hooks hooks, Clock clock)
    : options_(std::move(options)),
      hooks_(std::move(hooks)),
      clock_(std::move(clock)),
      pending_(options_.data_dir / "pending", {.durable = false}, clock_),
      codes_(options_.data_dir / "codes", {.durable = false}, clock_),
      families_(options_.data_dir / "refresh", {.durable = true}, clock_),
      registered_(options_.data_dir / "registered", {.durable = true}, clock_),
      registrations_(options_.registration_sources) {
  if (options_.resources.empty()) throw std::invalid_argument("sign-in needs a resource");
}

void SignIn::set_interaction(std::shared_ptr<Interaction> interaction) {
  std::lock_guard lock(interaction_mu_);
  interaction_ = std::move(interaction);
}

// --- open sign-ins per source ---------------------------------------------------------

namespace {
void drop_expired(std::vector<std::int64_t>& v, std::int64_t now) {
  std::erase_if(v, [now](std::int64_t exp) { return exp <= now; });
}
// Forgets the expired slots, and the sources left with none.
void sweep_slots(std::unordered_map<std::string, std::vector<std::int64_t>>& m, std::int64_t now) {
  for (auto it = m.begin(); it != m.end();) {
    drop_expired(it->second, now);
    it = it->second.empty() ? m.erase(it) : std::next(it);
  }
}
}  // namespace

bool SignIn::pending_slot(std::string_view source, std::int64_t now, std::int64_t expires) {
  std::lock_guard lock(slots_mu_);
  // Bounded memory: a map grown past the global limit is swept (once a
  // second at most) besides the housekeeping prune.
  if (pending_slots_.size() > options_.max_pending && slots_swept_at_ != now) {
    slots_swept_at_ = now;
    sweep_slots(pending_slots_, now);
  }
  auto& v = pending_slots_[std::string(source)];
  drop_expired(v, now);
  if (v.size() >= options_.max_pending_per_source) return false;
  v.push_back(expires);
  return true;
}

void SignIn::prune_pending_slots(std::int64_t now) {
  std::lock_guard lock(slots_mu_);
  sweep_slots(pending_slots_, now);
}

std::optional<std::string> SignIn::resource_for(std::string_view requested) const {
  // RFC 8707 §2: an absolute URI without a fragment. Scheme and host compare
  // case-insensitively; one trailing slash is not a different resource.
  auto u = boost::urls::parse_absolute_uri(requested);
  if (!u || requested.find('#') != std::string_view::npos) return std::nullopt;
  auto norm = [](std::string_view s) {
    auto p = boost::urls::parse_absolute_uri(s);
    if (!p) return std::string(s);
    boost::urls::url x(*p);
    x.set_scheme(boost::algorithm::to_lower_copy(std::string(x.scheme())));
    x.set_encoded_host(boost::algorithm::to_lower_copy(std::string(x.encoded_host())));
    std::string out(x.buffer());
    if (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
  };
  std::string want = norm(requested);
  for (const auto& r : options_.resources)
    if (norm(r) == want) return options_.resources.front();
  return std::nullopt;
}

// --- clients ----------------------------------------------------------------------

Result<SignInClient> SignIn::find_client(std::string_view id, std::string_view source) {
  if (id.empty() || id.size() > 2000) return fail("unknown client");
  if (hooks_.configured)
    if (auto c = hooks_.configured(id)) return std::move(*c);
  if (auto r = registered_.get(id)) {
    auto* md = r->if_contains("metadata");
    if (!md || !md->is_object()) return fail("registered client record is corrupt");
    auto m = parse_client_metadata(md->get_object(), MetadataSource::kConfiguration);
    if (!m) return fail("registered client record is corrupt: " + m.reason());
    SignInClient c;
    c.meta = std::move(m.value());
    c.meta.client_id = std::string(id);
    c.kind = ClientKind::kRegistered;
    c.secret_hash = str(*r, "secret_hash");
    return c;
  }
  if (is_client_id_url(id)) {
    if (!hooks_.metadata_document) return fail("client metadata documents are not enabled");
    auto m = hooks_.metadata_document(std::string(id), source);
    if (!m) return m.error();
    SignInClient c;
    c.meta = std::move(m.value());
    c.kind = ClientKind::kMetadataDocument;
    return c;
  }
  return fail("unknown client");
}

bool SignIn::client_active(std::string_view client_id) const {
  if (is_client_id_url(client_id)) return true;
  if (hooks_.configured && hooks_.configured(client_id)) return true;
  return registered_.get(client_id).has_value();
}

// --- /oauth2/authorize -------------------------------------------------------------

void SignIn::authorize(const Request& req, std::string_view source, Reply reply) {
  auto page = [&](http::status s, std::string_view title, std::string_view detail) {
    if (hooks_.audit)
      hooks_.audit(json::object{{"event_type", "authorization_refused"},
                                {"error", title},
                                {"reason", detail},
                                {"source", source}});
    reply(render_error_page(req, s, title, detail));
  };
  if (req.method() != http::verb::get && req.method() != http::verb::head &&
      req.method() != http::verb::post) {
    Response r = method_not_allowed(req, "GET, POST");
    return reply(std::move(r));
  }
  if (!interaction_)
    return page(http::status::not_found, "Sign-in is not available",
                "This Bastion has no sign-in configured (no users and no identity provider), so "
                "applications cannot sign in to it.");
  std::string err;
  auto params = request_params(req, &err);
  if (!params)
    return page(http::status::bad_request, "Invalid sign-in request",
                "The request is malformed: " + err + ".");
  const Form& f = *params;
  const std::string* client_id = form_get(f, "client_id");
  if (!client_id)
    return page(http::status::bad_request, "Invalid sign-in request",
                "The application did not say who it is (client_id is missing).");
  auto client = find_client(*client_id, source);
  if (!client)
    return page(http::status::bad_request, "Unknown application",
                "The application that sent you here is not known to this Bastion: " +
                    client.reason() + ".");
  const SignInClient& c = client.value();
  // The redirect URI decides whether errors may go back to the client.
  std::string redirect_uri;
  if (const std::string* ru = form_get(f, "redirect_uri")) {
    bool ok = std::any_of(c.meta.redirect_uris.begin(), c.meta.redirect_uris.end(),
                          [&](const std::string& r) { return redirect_uri_matches(r, *ru); });
    if (!ok || !check_redirect_uri(*ru))
      return page(http::status::bad_request, "Invalid redirect address",
                  "The application asked to send you to an address it has not registered, so "
                  "Bastion will not go there.");
    redirect_uri = *ru;
  } else {
    // OAuth 2.1 §4.1.1: optional only when exactly one (non-loopback) is registered.
    if (c.meta.redirect_uris.size() != 1 ||
        check_redirect_uri(c.meta.redirect_uris.front())->kind == RedirectKind::kLoopback)
      return page(http::status::bad_request, "Invalid sign-in request",
                  "The application did not say where to return (redirect_uri is missing).");
    redirect_uri = c.meta.redirect_uris.front();
  }
  const std::string* state_p = form_get(f, "state");
  std::string state = state_p ? *state_p : std::string();
  // From here on, errors go back to the client (RFC 6749 §4.1.2.1), with iss
  // (RFC 9207): to a client the operator configured. Any other client gets
  // them as a page, as nobody has decided anything yet (RFC 9700 §4.11.2).
  auto error_redirect = [&](std::string_view error, std::string_view description) {
    if (hooks_.audit)
      hooks_.audit(json::object{{"event_type", "authorization_refused"},
                                {"client_id", c.meta.client_id},
                                {"error", error},
                                {"reason", description},
                                {"source", source}});
    if (!redirects_unattended(c.kind))
      return reply(render_refused_request(req, error, description));
    std::vector<std::pair<std::string, std::string>> q{
        {"error", std::string(error)}, {"error_description", std::string(description)}};
    if (!state.empty() && state.size() <= kMaxStateBytes) q.emplace_back("state", state);
    q.emplace_back("iss", options_.issuer);
    reply(redirect_response(req, with_query(redirect_uri, q)));
  };
  if (state.size() > kMaxStateBytes) return error_redirect("invalid_request", "state is too long");
  if (form_get(f, "request") || form_get(f, "request_uri"))
    return error_redirect("request_not_supported", "request objects are not supported");
  const std::string* rt = form_get(f, "response_type");
  if (!rt) return error_redirect("invalid_request", "response_type is missing");
  if (*rt != "code")
    return error_redirect("unsupported_response_type", "only response_type=code is supported");
  if (!c.meta.has_grant("authorization_code"))
    return error_redirect("unauthorized_client",
                          "this client is not registered for the authorization_code grant");
  const std::string* challenge = form_get(f, "code_challenge");
  const std::string* method = form_get(f, "code_challenge_method");
  if (!challenge)
    return error_redirect("invalid_request", "PKCE is required: code_challenge is missing");
  if (!method || *method != "S256")
    return error_redirect("invalid_request",
                          "code_challenge_method must be S256 (plain is not accepted)");
  if (!valid_s256_challenge(*challenge))
    return error_redirect("invalid_request",
                          "code_challenge must be the base64url SHA-256 of the code_verifier");
  std::string resource = options_.resources.front();
  if (const std::string* r = form_get(f, "resource")) {
    auto canon = resource_for(*r);
    if (!canon)
      return error_redirect("invalid_target", "the resource is not a protected resource of " +
                                                  options_.issuer + " (use " +
                                                  options_.resources.front() + ")");
    resource = *canon;
  }
  std::vector<std::string> scopes;
  if (const std::string* s = form_get(f, "scope")) {
    if (s->size() > 4096) return error_redirect("invalid_scope", "scope is too long");
    scopes = split_scopes(*s);
    for (const auto& x : scopes)
      if (!valid_scope_token(x)) return error_redirect("invalid_scope", "malformed scope");
  }
  // offline_access only for clients that may hold a refresh token.
  if (!c.meta.has_grant("refresh_token")) std::erase(scopes, std::string(kOfflineAccess));
  // Bound the server-side state an anonymous browser can create: in all,
  // and per source (below), so that one source cannot hold the global limit.
  std::int64_t now = clock_();
  if (pending_count_at_.load() != now) {
    pending_count_at_ = now;
    pending_count_ = pending_.count();
  }
  if (pending_count_.load() >= options_.max_pending)
    return error_redirect("temporarily_unavailable",
                          "too many sign-ins are in progress; try again in a few minutes");

  PendingAuthorization p;
  p.id = b64url_encode(random_bytes(32));
  p.client_id = c.meta.client_id;
  p.client_name = c.meta.client_name;
  p.client_uri = c.meta.client_uri;
  p.client_kind = c.kind;
  p.redirect_uri = redirect_uri;
  auto rk = check_redirect_uri(redirect_uri);
  p.redirect_host = rk ? rk->host : std::string();
  p.loopback_redirect = rk && rk->kind == RedirectKind::kLoopback;
  p.scopes = scopes;
  p.resource = resource;
  if (const std::string* v = form_get(f, "prompt")) p.prompt = v->substr(0, 64);
  if (const std::string* v = form_get(f, "login_hint")) p.login_hint = v->substr(0, 256);
  if (const std::string* v = form_get(f, "max_age")) {
    try {
      p.max_age = std::stoll(*v);
    } catch (...) {
      return error_redirect("invalid_request", "max_age must be a number of seconds");
    }
  }
  if (const std::string* v = form_get(f, "nonce")) {
    if (v->size() > 512) return error_redirect("invalid_request", "nonce is too long");
    p.nonce = *v;
  }
  p.state = state;
  p.code_challenge = *challenge;
  p.created = now;
  p.expires = now + options_.pending_lifetime.count();
  json::object rec{{"id", p.id},
                   {"client_id", p.client_id},
                   {"client_name", p.client_name},
                   {"client_uri", p.client_uri},
                   {"client_kind", static_cast<int>(p.client_kind)},
                   {"redirect_uri", p.redirect_uri},
                   {"redirect_host", p.redirect_host},
                   {"loopback_redirect", p.loopback_redirect},
                   {"scopes", to_array(p.scopes)},
                   {"resource", p.resource},
                   {"prompt", p.prompt},
                   {"login_hint", p.login_hint},
                   {"state", p.state},
                   {"code_challenge", p.code_challenge},
                   {"nonce", p.nonce},
                   {"created", p.created}};
  if (p.max_age) rec["max_age"] = *p.max_age;
  if (!pending_slot(source, now, p.expires))
    return error_redirect("temporarily_unavailable",
                          "too many sign-ins were started from this address; try again in a few "
                          "minutes");
  auto created = pending_.create(p.id, rec, p.expires);
  if (!created || !created.value())
    return error_redirect("server_error", "could not store the sign-in request");
  ++pending_count_;
  auto self_reply = std::make_shared<Reply>(std::move(reply));
  auto req_copy = std::make_shared<Request>(req);
  interaction_->begin(req, source, p, *this, [this, req_copy, self_reply](Outcome o) {
    settle(*req_copy, std::move(o), std::move(*self_reply), true);
  });
}

}  // namespace bastion::auth
