// LoginInteraction: the sign-in pages' flow (login, consent, cancel,
// logout, revoking a grant) over browser sessions, and the pages it renders.
// Over 500 lines for a reason: every page handler checks the same browser
// state (session, CSRF token bound to the pending authorization, throttle)
// before it renders one of the five pages; the mechanisms themselves live in
// web/ (html, page, csrf, cookies, session) and login/ (users, consents,
// access, throttle, federation).
#include "login/interaction.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/url/parse.hpp>

#include "auth/jwk.hpp"
#include "auth/scopes.hpp"
#include "protocol/form.hpp"
#include "web/html.hpp"
#include "web/page.hpp"

namespace bastion::login {

namespace http = web::http;
namespace json = boost::json;
using web::format;
using web::Html;

namespace {

constexpr std::string_view kSessionCookie = "bastion_session";
constexpr std::string_view kBrowserCookie = "bastion_browser";

bool has_token(std::string_view list, std::string_view token) {
  std::size_t i = 0;
  while (i < list.size()) {
    std::size_t j = list.find(' ', i);
    if (j == std::string_view::npos) j = list.size();
    if (list.substr(i, j - i) == token) return true;
    i = j + 1;
  }
  return false;
}

// What a scope opens, in words.
std::pair<std::string, std::string> describe_scope(std::string_view s) {
  if (s == auth::kScopeAll)
    return {"Every server and tool", "Full use of everything on this Bastion"};
  if (s == "offline_access")
    return {"Stay signed in", "The application may renew its access without asking you again"};
  if (s.rfind(auth::kScopeServerPrefix, 0) == 0)
    return {"Server " + std::string(s.substr(auth::kScopeServerPrefix.size())),
            "Every tool of this server"};
  if (s.rfind(auth::kScopeToolPrefix, 0) == 0) {
    auto rest = s.substr(auth::kScopeToolPrefix.size());
    auto slash = rest.find('/');
    if (slash != std::string_view::npos)
      return {"Tool " + std::string(rest.substr(slash + 1)),
              "On server " + std::string(rest.substr(0, slash))};
  }
  return {std::string(s), "A permission the application asks for"};
}

// The origin (or scheme, for private-use URIs) a code is redirected to: a
// form whose answer is that redirect must be allowed to go there (CSP
// form-action applies to redirects after a post).
std::string redirect_target(std::string_view redirect_uri) {
  std::string o = web::origin_of(redirect_uri);
  if (!o.empty()) return o;
  auto colon = redirect_uri.find(':');
  if (colon == std::string_view::npos) return {};
  return std::string(redirect_uri.substr(0, colon + 1));
}

std::string when(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace

auth::ExtraHeaders LoginInteraction::cookie_headers(const Ctx& c) {
  auth::ExtraHeaders h;
  for (const auto& sc : c.set_cookies) h.emplace_back("Set-Cookie", sc);
  return h;
}

LoginInteraction::LoginInteraction(std::string issuer, std::filesystem::path data_dir,
                                   LoginOptions options, Access access, Hooks hooks,
                                   auth::Clock clock)
    : issuer_(std::move(issuer)),
      base_(issuer_),
      origin_(web::origin_of(issuer_)),
      options_(std::move(options)),
      access_(std::move(access)),
      hooks_(std::move(hooks)),
      clock_(clock),
      cookies_(web::cookie_policy(issuer_)),
      key_(web::SecretKey::load_or_create(data_dir / "web.key")),
      users_(data_dir / "users", clock),
      consents_(data_dir / "consents", clock),
      sessions_(data_dir / "sessions", web::SessionOptions{.lifetime = options_.session_lifetime},
                clock),
      throttle_(options_.throttle, clock),
      federation_(data_dir / "federation", auth::RecordStoreOptions{.durable = false}, clock) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
  init_providers();
}

void LoginInteraction::prune() {
  sessions_.prune();
  federation_.prune();
}

void LoginInteraction::audit(json::object e) const {
  if (hooks_.audit) hooks_.audit(std::move(e));
}

// --- browser state -------------------------------------------------------------

std::string LoginInteraction::browser_id(const Ctx& c) const {
  if (!c.browser.empty()) return c.browser;
  auto v = web::get_cookie(c.req, web::cookie_name(cookies_, kBrowserCookie));
  if (v && web::plausible_session_id(*v)) return *v;
  return {};
}

std::optional<web::Session> LoginInteraction::session(const Request& req) const {
  auto v = web::get_cookie(req, web::cookie_name(cookies_, kSessionCookie));
  if (!v) return std::nullopt;
  auto s = sessions_.find(*v);
  if (!s || !signed_in(*s)) return std::nullopt;
  return s;
}

std::string LoginInteraction::return_to(const Ctx& c, const protocol::FormData* form) const {
  const std::string* v = nullptr;
  std::optional<protocol::FormData> q;
  if (form) {
    v = form->get("return");
  } else if ((q = protocol::parse_query(c.req.target()))) {
    v = q->get("return");
  }
  if (!v || v->empty() || v->size() > 200 || v->find("//") != std::string::npos) return {};
  for (char ch : *v)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '/' || ch == '-' || ch == '_'))
      return {};
  for (const auto& prefix : options_.return_paths)
    if (*v == prefix || (v->size() > prefix.size() && v->compare(0, prefix.size(), prefix) == 0 &&
                         (*v)[prefix.size()] == '/'))
      return *v;
  return {};
}

std::optional<LoginInteraction::Visitor> LoginInteraction::visitor(const Request& req) const {
  auto s = session(req);
  if (!s) return std::nullopt;
  auto u = signed_in(*s);
  if (!u) return std::nullopt;
  return Visitor{u->subject, u->display_name, s->id, u->groups};
}

std::optional<LoginInteraction::Signed> LoginInteraction::signed_in(const web::Session& s) const {
  auto str = [&](std::string_view k) {
    auto* v = s.data.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  Signed u;
  u.subject = str("sub");
  u.display_name = str("name");
  u.idp = str("idp");
  if (auto* t = s.data.if_contains("auth_time"); t && t->is_int64()) u.auth_time = t->get_int64();
  if (auto* g = s.data.if_contains("groups"); g && g->is_array())
    for (const auto& x : g->get_array())
      if (x.is_string()) u.groups.emplace_back(x.get_string());
  if (u.subject.empty()) return std::nullopt;
  if (u.idp == "local") {
    // The user must still exist with the password the session began with:
    // `bastion user rm` and `user passwd` end every session at once.
    auto user = users_.find(u.subject);
    auto* pwc = s.data.if_contains("pwc");
    if (!user || !pwc || !pwc->is_int64() || pwc->get_int64() != user->password_changed)
      return std::nullopt;
  }
  return u;
}

std::vector<std::string> LoginInteraction::scopes_of(const Signed& u) const {
  return access_.scopes_for(u.subject, u.groups);
}

std::optional<web::Session> LoginInteraction::new_session(Ctx& c, const Signed& u) {
  // Fixation: whatever session the browser had ends; the new id is ours.
  if (auto old = web::get_cookie(c.req, web::cookie_name(cookies_, kSessionCookie)))
    sessions_.destroy(*old);
  json::array groups;
  for (const auto& g : u.groups) groups.emplace_back(g);
  json::object data{{"sub", u.subject},
                    {"name", u.display_name},
                    {"idp", u.idp},
                    {"groups", std::move(groups)},
                    {"auth_time", u.auth_time}};
  if (u.idp == "local")
    if (auto user = users_.find(u.subject)) data["pwc"] = user->password_changed;
  auto s = sessions_.create(std::move(data));
  if (!s) {
    spdlog::error("sign-in: cannot create a session: {}", s.reason());
    return std::nullopt;
  }
  c.set_cookies.push_back(
      web::set_cookie(cookies_, kSessionCookie, s.value().id,
                      {.same_site = web::SameSite::kLax, .max_age = options_.session_lifetime}));
  return s.value();
}

// --- pages -------------------------------------------------------------------

LoginInteraction::Response LoginInteraction::error_page(const Ctx& c, http::status status,
                                                        std::string_view title,
                                                        std::string_view text) {
  auto doc = web::message_page(std::string(title), stylesheet(), "error", title, text,
                               format("<p class=\"muted\">Go back to your application and "
                                      "start the sign-in again.</p>",
                                      {}));
  auto res = web::html_response(c.req.version(), status, doc);
  for (const auto& sc : c.set_cookies) res.insert(http::field::set_cookie, sc);
  return res;
}

LoginInteraction::Response LoginInteraction::login_page(Ctx& c, const auth::PendingAuthorization* p,
                                                        std::string_view error,
                                                        std::string_view user,
                                                        http::status status) {
  if (browser_id(c).empty()) {
    c.browser = auth::b64url_encode(auth::random_bytes(32));
    c.set_cookies.push_back(
        web::set_cookie(cookies_, kBrowserCookie, c.browser, {.same_site = web::SameSite::kLax}));
  }
  std::string id = p ? p->id : "";
  Html body;
  if (p)
    body += format(
        "<p><strong>{}</strong> wants to use Bastion on your behalf. Sign in to "
        "continue.</p>",
        {p->client_name.empty() ? p->client_id : p->client_name});
  else
    body += format("<p>Sign in to see and manage the applications you allowed.</p>", {});
  if (!error.empty()) body += web::notice("error", format("<p>{}</p>", {error}));
  Html hidden = format(
      "<input type=\"hidden\" name=\"id\" value=\"{}\">{}",
      {id, web::csrf_field(key_, c.browser.empty() ? browser_id(c) : c.browser, "login:" + id)});
  if (!p) {
    auto form = c.req.method() == http::verb::post ? protocol::parse_form(c.req.body()) : std::nullopt;
    if (std::string back = return_to(c, form ? &*form : nullptr); !back.empty())
      hidden += format("<input type=\"hidden\" name=\"return\" value=\"{}\">", {back});
  }
  if (options_.local_users)
    body += format(
        "<form method=\"post\" action=\"{}\" class=\"stack\">{}"
        "<label for=\"username\">User name</label>"
        "<input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" "
        "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required{}>"
        "<label for=\"password\">Password</label>"
        "<input type=\"password\" id=\"password\" name=\"password\" "
        "autocomplete=\"current-password\" required{}>"
        "<div class=\"actions\"><button type=\"submit\" class=\"primary\">Sign in</button></div>"
        "</form>",
        {url("/signin/login"), hidden, user, Html::trusted(user.empty() ? " autofocus" : ""),
         Html::trusted(user.empty() ? "" : " autofocus")});
  if (!providers_.empty()) {
    if (options_.local_users) body += format("<div class=\"divider\">or</div>", {});
    body += format("<div class=\"stack\">{}</div>", {provider_buttons(c, id)});
  }
  if (p) {
    body += format(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"id\" value=\"{}\">{}"
        "<div class=\"actions\"><button type=\"submit\" class=\"secondary\">Cancel</button></div>"
        "</form>",
        {url("/signin/cancel"), id,
         web::csrf_field(key_, c.browser.empty() ? browser_id(c) : c.browser, "cancel:" + id)});
  }
  web::Document doc{.title = "Sign in",
                    .stylesheet = stylesheet(),
                    .body = web::card("Sign in to Bastion", body)};
  web::PageSecurity sec;
  if (p) sec.form_targets.push_back(redirect_target(p->redirect_uri));
  // A provider button's post is answered by a redirect to the provider.
  for (auto& o : provider_origins()) sec.form_targets.push_back(std::move(o));
  auto res = web::html_response(c.req.version(), status, doc, sec);
  for (const auto& sc : c.set_cookies) res.insert(http::field::set_cookie, sc);
  return res;
}

LoginInteraction::Response LoginInteraction::consent_page(Ctx& c,
                                                          const auth::PendingAuthorization& p,
                                                          const Signed& u,
                                                          const std::string& session_id) {
  auto held = scopes_of(u);
  std::vector<std::string> requested = p.scopes.empty() ? held : p.scopes;
  std::string name = p.client_name.empty() ? p.client_id : p.client_name;

  Html body = format("<p><strong>{}</strong> asks to use Bastion as <strong>{}</strong>.</p>",
                     {name, u.display_name.empty() ? u.subject : u.display_name});
  Html facts = format("<dt>Application</dt><dd>{}</dd>", {name});
  switch (p.client_kind) {
    case auth::ClientKind::kConfigured:
      facts += format("<dt>Known as</dt><dd>Configured by your administrator</dd>", {});
      break;
    case auth::ClientKind::kRegistered:
      facts += format(
          "<dt>Known as</dt><dd>Registered itself with this Bastion; its name is its own "
          "claim</dd>",
          {});
      break;
    case auth::ClientKind::kMetadataDocument:
      facts += format("<dt>Identified by</dt><dd><code>{}</code></dd>", {p.client_id});
      break;
  }
  facts += format("<dt>Sends you back to</dt><dd><code>{}</code></dd>", {p.redirect_host});
  body += format("<dl class=\"facts\">{}</dl>", {facts});
  if (p.loopback_redirect)
    body += web::notice(
        "warning",
        format("<p>The answer goes to a program on this computer (<code>{}</code>). Any program "
               "running here could receive it: continue only if you just started the sign-in "
               "from an application on this computer.</p>",
               {p.redirect_host}));

  Html items;
  Html unavailable;
  for (const auto& s : requested) {
    auto [what, detail] = describe_scope(s);
    if (may_grant(held, s))
      items += format(
          "<li><label><input type=\"checkbox\" name=\"scope\" value=\"{}\" checked>"
          "<span><span class=\"what\">{}</span><span class=\"detail\">{} · <code>{}</code>"
          "</span></span></label></li>",
          {s, what, detail, s});
    else
      unavailable += format(
          "<li><span><span class=\"what\">{}</span><span class=\"detail\">"
          "<code>{}</code> · not available to your account</span></span></li>",
          {what, s});
  }
  Html remember;
  if (options_.remember_consent.count() > 0)
    remember = format(
        "<label class=\"check\"><input type=\"checkbox\" name=\"remember\" value=\"1\">"
        "<span>Remember my choice for this application (until you revoke it on your "
        "<a href=\"{}\">account page</a>)</span></label>",
        {url("/account")});
  Html lists;
  if (!items.empty())
    lists += format(
        "<h2 id=\"asks\">It asks for</h2><ul class=\"scopes\" "
        "aria-labelledby=\"asks\">{}</ul>",
        {items});
  if (!unavailable.empty())
    lists += format(
        "<h2 id=\"unavailable\">Not available to you</h2><ul class=\"scopes\" "
        "aria-labelledby=\"unavailable\">{}</ul>",
        {unavailable});
  body += format(
      "<form method=\"post\" action=\"{}\" id=\"consent\">"
      "<input type=\"hidden\" name=\"id\" value=\"{}\">{}{}{}"
      "<div class=\"actions\"><button type=\"submit\" name=\"action\" value=\"allow\" "
      "class=\"primary\">Allow</button><button type=\"submit\" name=\"action\" value=\"deny\" "
      "class=\"secondary\">Deny</button></div></form>",
      {url("/signin/consent"), p.id, web::csrf_field(key_, session_id, "consent:" + p.id), lists,
       remember});
  web::Document doc{
      .title = "Allow access",
      .stylesheet = stylesheet(),
      .body = web::card("Allow " + name + "?", body),
      .footer =
          format("Signed in as {} · <form method=\"post\" action=\"{}\"><input type=\"hidden\" "
                 "name=\"id\" value=\"{}\">{}<button type=\"submit\" class=\"link\">Not you? Sign "
                 "out</button></form>",
                 {u.display_name.empty() ? u.subject : u.display_name, url("/signin/logout"), p.id,
                  web::csrf_field(key_, session_id, "logout")})};
  web::PageSecurity sec;
  sec.form_targets.push_back(redirect_target(p.redirect_uri));
  auto res = web::html_response(c.req.version(), http::status::ok, doc, sec);
  for (const auto& sc : c.set_cookies) res.insert(http::field::set_cookie, sc);
  return res;
}

LoginInteraction::Response LoginInteraction::signed_in_page(Ctx& c, std::string_view heading,
                                                            std::string_view text) {
  auto s = session(c.req);
  auto u = s ? signed_in(*s) : std::nullopt;
  Html extra;
  if (u)
    extra = format(
        "<p>Signed in as <strong>{}</strong>.</p><div class=\"actions\"><a class=\"button "
        "secondary\" href=\"{}\">Your applications</a><form method=\"post\" action=\"{}\">{}"
        "<button type=\"submit\" class=\"secondary wide\">Sign out</button></form></div>",
        {u->display_name.empty() ? u->subject : u->display_name, url("/account"),
         url("/signin/logout"), web::csrf_field(key_, s->id, "logout")});
  auto doc = web::message_page(std::string(heading), stylesheet(), u ? "success" : "info", heading,
                               text, extra);
  auto res = web::html_response(c.req.version(), http::status::ok, doc);
  for (const auto& sc : c.set_cookies) res.insert(http::field::set_cookie, sc);
  return res;
}

LoginInteraction::Response LoginInteraction::account_page(Ctx& c, const web::Session& s,
                                                          const Signed& u, std::string_view flash) {
  auto consents = consents_.of(u.subject);
  std::vector<std::string> clients;
  for (const auto& k : consents) clients.push_back(k.client_id);
  std::vector<std::string> grant_only;
  if (hooks_.grant_clients)
    for (auto& id : hooks_.grant_clients(u.subject))
      if (std::find(clients.begin(), clients.end(), id) == clients.end() &&
          std::find(grant_only.begin(), grant_only.end(), id) == grant_only.end())
        grant_only.push_back(std::move(id));

  Html body;
  if (!flash.empty()) body += web::notice("success", format("<p>{}</p>", {flash}));
  auto revoke_form = [&](const std::string& client_id, const std::string& name) {
    return format(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"client_id\" "
        "value=\"{}\">{}<button type=\"submit\" class=\"secondary\" aria-label=\"Revoke {}\">"
        "Revoke</button></form>",
        {url("/account/revoke"), client_id, web::csrf_field(key_, s.id, "revoke:" + client_id),
         name});
  };
  Html list;
  for (const auto& k : consents) {
    std::string name = k.client_name.empty() ? k.client_id : k.client_name;
    Html scopes;
    for (const auto& sc : k.scopes) scopes += format("<code>{}</code> ", {sc});
    list += format(
        "<li><h2>{}</h2><dl class=\"facts\"><dt>Client</dt><dd><code>{}</code></dd>"
        "<dt>Sends you back to</dt><dd><code>{}</code></dd><dt>Allowed</dt><dd>{}</dd>"
        "<dt>Since</dt><dd>{}</dd></dl>{}</li>",
        {name, k.client_id, k.redirect_host, scopes, when(k.created),
         revoke_form(k.client_id, name)});
  }
  for (const auto& id : grant_only)
    list += format(
        "<li><h2>{}</h2><p class=\"muted\">Holds a refresh token (you did not ask Bastion to "
        "remember this consent).</p>{}</li>",
        {id, revoke_form(id, id)});
  if (list.empty())
    body += format("<p>No application holds access on your behalf.</p>", {});
  else
    body += format(
        "<p>These applications may use Bastion on your behalf. Revoking one ends its access "
        "and its refresh tokens at once; it will have to ask you again.</p>"
        "<ul class=\"grants\">{}</ul>",
        {list});
  web::Document doc{
      .title = "Your applications",
      .stylesheet = stylesheet(),
      .body = web::card("Your applications", body),
      .footer =
          format("Signed in as {} · <form method=\"post\" action=\"{}\">{}<button type=\"submit\" "
                 "class=\"link\">Sign out</button></form>",
                 {u.display_name.empty() ? u.subject : u.display_name, url("/signin/logout"),
                  web::csrf_field(key_, s.id, "logout")})};
  auto res = web::html_response(c.req.version(), http::status::ok, doc);
  for (const auto& sc : c.set_cookies) res.insert(http::field::set_cookie, sc);
  return res;
}

// --- the flow ----------------------------------------------------------------

void LoginInteraction::begin(const Request& req, std::string_view source,
                             const auth::PendingAuthorization& p, const auth::InteractionHost& host,
                             Done done) {
  Ctx c{req, source, host, {}, {}};
  auto s = session(req);
  auto u = s ? signed_in(*s) : std::nullopt;
  bool force_login =
      has_token(p.prompt, "login") || (u && p.max_age && clock_() - u->auth_time > *p.max_age);
  if (has_token(p.prompt, "none")) {
    if (!u || force_login)
      return done(
          auth::Settle{p.id, auth::Denial{"login_required", "the user is not signed in"}, {}});
    auto o = after_login(c, p, *u, s->id, false);
    if (std::holds_alternative<auth::Page>(o))
      return done(auth::Settle{
          p.id, auth::Denial{"consent_required", "the user has not allowed this application"}, {}});
    return done(std::move(o));
  }
  if (!u || force_login)
    return done(auth::Page{login_page(c, &p, "", p.login_hint, http::status::ok)});
  done(after_login(c, p, *u, s->id, false));
}

auth::Outcome LoginInteraction::after_login(Ctx& c, const auth::PendingAuthorization& p,
                                            const Signed& u, const std::string& session_id,
                                            bool fresh_login) {
  auto held = scopes_of(u);
  std::vector<std::string> requested = p.scopes.empty() ? held : p.scopes;
  std::vector<std::string> grantable;
  bool any_access = false;
  for (const auto& s : requested)
    if (may_grant(held, s)) {
      grantable.push_back(s);
      any_access = any_access || s != "offline_access";
    }
  if (!any_access) {
    audit({{"event_type", "consent_impossible"}, {"user", u.subject}, {"client_id", p.client_id}});
    web::Document doc = web::message_page(
        "No access", stylesheet(), "error", "No access for your account",
        "Your account (" + (u.display_name.empty() ? u.subject : u.display_name) +
            ") holds none of the access this application asks for. Ask your Bastion "
            "administrator to grant it.",
        format("<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"id\" "
               "value=\"{}\">{}<div class=\"actions\"><button type=\"submit\" "
               "class=\"secondary\">Return to the application</button></div></form>",
               {url("/signin/cancel"), p.id, web::csrf_field(key_, session_id, "cancel:" + p.id)}));
    web::PageSecurity sec;
    sec.form_targets.push_back(redirect_target(p.redirect_uri));
    auto res = web::html_response(c.req.version(), http::status::forbidden, doc, sec);
    for (const auto& sc : c.set_cookies) res.insert(http::field::set_cookie, sc);
    return auth::Page{std::move(res)};
  }
  if (!has_token(p.prompt, "consent")) {
    auto k = consents_.find(u.subject, p.client_id);
    bool covered = k && k->redirect_host == p.redirect_host;
    if (covered)
      for (const auto& s : grantable) covered = covered && auth::scopes_cover(k->scopes, s);
    if (covered) {
      audit(
          {{"event_type", "consent_remembered"}, {"user", u.subject}, {"client_id", p.client_id}});
      auth::Approval a{u.subject, grantable, u.auth_time, u.display_name, u.idp};
      return auth::Settle{p.id, std::move(a), cookie_headers(c)};
    }
  }
  if (fresh_login) {
    // Post/Redirect/Get: a reload of the consent page does not post the password again.
    auto res = web::see_other(c.req.version(), url("/signin/consent?id=" + protocol::url_encode(p.id)));
    for (const auto& sc : c.set_cookies) res.insert(http::field::set_cookie, sc);
    return auth::Page{std::move(res)};
  }
  return auth::Page{consent_page(c, p, u, session_id)};
}

void LoginInteraction::post_login(Ctx& c, const Done& done) {
  auto page = [&](Response r) { done(auth::Page{std::move(r)}); };
  auto form = protocol::parse_form(c.req.body());
  if (!form)
    return page(
        error_page(c, http::status::bad_request, "Invalid form", "The form could not be read."));
  const std::string* id = form->get("id");
  std::string pid = id ? *id : "";
  if (!web::same_origin_request(c.req, origin_) ||
      !web::csrf_valid(key_, browser_id(c), "login:" + pid, form->get(web::kCsrfField))) {
    audit({{"event_type", "csrf_refused"}, {"form", "login"}, {"source", std::string(c.source)}});
    return page(error_page(c, http::status::forbidden, "This form has expired",
                           "The sign-in form was not accepted: it came from another site, "
                           "or it is too old (your browser's sign-in cookie changed)."));
  }
  std::optional<auth::PendingAuthorization> p;
  if (!pid.empty()) {
    p = c.host.find_pending(pid);
    if (!p)
      return page(error_page(c, http::status::bad_request, "This sign-in has expired",
                             "This sign-in request is no longer valid: it expired, or it "
                             "was already completed."));
  }
  const std::string* user = form->get("username");
  const std::string* password = form->get("password");
  if (!options_.local_users || !user || !password || user->empty() || password->empty())
    return page(login_page(c, p ? &*p : nullptr, "Enter your user name and password.",
                           user ? *user : "", http::status::bad_request));
  std::string name = user->substr(0, 256);
  std::string_view source = c.source == "unknown" ? std::string_view() : c.source;
  if (auto wait = throttle_.wait(name, source); wait > 0) {
    audit({{"event_type", "login_throttled"}, {"user", name}, {"source", std::string(c.source)}});
    return page(login_page(c, p ? &*p : nullptr,
                           "Too many failed sign-in attempts. Try again in " +
                               std::to_string((wait + 59) / 60) + " minute(s).",
                           name, http::status::too_many_requests));
  }
  if (!hooks_.hashing) return done(finish_login(c, *form, p, name, *password));
  // argon2id (64 MiB, tens of ms) on the hashing pool, never on this thread:
  // what the check needs is copied, since this request is answered later.
  struct Job {
    Request req;
    std::string source;
    const auth::InteractionHost* host;
    std::vector<std::string> set_cookies;
    std::string browser;
    protocol::FormData form;
    std::optional<auth::PendingAuthorization> pending;
    std::string name, password;
  };
  auto job = std::make_shared<Job>(Job{c.req, std::string(c.source), &c.host, c.set_cookies,
                                       c.browser, *form, p, name, *password});
  auto admitted = hooks_.hashing->submit(job->source, [this, job, done] {
    Ctx jc{job->req, job->source, *job->host, std::move(job->set_cookies), job->browser};
    done(finish_login(jc, job->form, job->pending, job->name, job->password));
  });
  if (admitted == auth::HashPool::Admit::kAdmitted) return;
  // No room to check the password now: refused without checking it, counted
  // as neither success nor failure.
  bool source_busy = admitted == auth::HashPool::Admit::kSourceBusy;
  audit({{"event_type", "login_busy"}, {"user", name}, {"source", std::string(c.source)}});
  auto res =
      login_page(c, p ? &*p : nullptr, "Sign-in is busy. Try again in a moment.", name,
                 source_busy ? http::status::too_many_requests : http::status::service_unavailable);
  res.set(http::field::retry_after, "1");
  page(std::move(res));
}

auth::Outcome LoginInteraction::finish_login(Ctx& c, const protocol::FormData& form,
                                             const std::optional<auth::PendingAuthorization>& p,
                                             const std::string& name, const std::string& password) {
  std::string_view source = c.source == "unknown" ? std::string_view() : c.source;
  auto verified = users_.verify(name, password);
  if (!verified) {
    throttle_.failed(name, source);
    audit({{"event_type", "login_failed"}, {"user", name}, {"source", std::string(c.source)}});
    return auth::Page{
        login_page(c, p ? &*p : nullptr, "Wrong user name or password.", name, http::status::ok)};
  }
  throttle_.succeeded(name);
  Signed u{verified->name, verified->name, "local", {}, clock_()};
  auto s = new_session(c, u);
  if (!s)
    return auth::Page{error_page(c, http::status::internal_server_error, "Sign-in failed",
                                 "Bastion could not start a session. Try again later.")};
  audit({{"event_type", "login_succeeded"},
         {"user", u.subject},
         {"idp", "local"},
         {"source", std::string(c.source)}});
  if (!p) {
    std::string back = return_to(c, &form);
    auto res = web::see_other(c.req.version(), url(back.empty() ? "/account" : back));
    for (const auto& sc : c.set_cookies) res.insert(http::field::set_cookie, sc);
    return auth::Page{std::move(res)};
  }
  return after_login(c, *p, u, s->id, true);
}

auth::Outcome LoginInteraction::get_consent(Ctx& c) {
  auto q = protocol::parse_query(c.req.target());
  const std::string* id = q ? q->get("id") : nullptr;
  auto p = id ? c.host.find_pending(*id) : std::nullopt;
  if (!p)
    return auth::Page{error_page(c, http::status::bad_request, "This sign-in has expired",
                                 "This sign-in request is no longer valid: it expired, or it "
                                 "was already completed.")};
  auto s = session(c.req);
  auto u = s ? signed_in(*s) : std::nullopt;
  if (!u) return auth::Page{login_page(c, &*p, "", "", http::status::ok)};
  return after_login(c, *p, *u, s->id, false);
}

auth::Outcome LoginInteraction::post_consent(Ctx& c) {
  auto form = protocol::parse_form(c.req.body());
  if (!form)
    return auth::Page{
        error_page(c, http::status::bad_request, "Invalid form", "The form could not be read.")};
  const std::string* id = form->get("id");
  std::string pid = id ? *id : "";
  auto s = session(c.req);
  auto u = s ? signed_in(*s) : std::nullopt;
  if (!web::same_origin_request(c.req, origin_) || !s ||
      !web::csrf_valid(key_, s->id, "consent:" + pid, form->get(web::kCsrfField))) {
    audit({{"event_type", "csrf_refused"}, {"form", "consent"}, {"source", std::string(c.source)}});
    return auth::Page{error_page(c, http::status::forbidden, "This form has expired",
                                 "Your answer was not accepted: it came from another site, or "
                                 "your session ended.")};
  }
  auto p = c.host.find_pending(pid);
  if (!p)
    return auth::Page{error_page(c, http::status::bad_request, "This sign-in has expired",
                                 "This sign-in request is no longer valid: it expired, or it "
                                 "was already completed.")};
  const std::string* action = form->get("action");
  if (!action || *action != "allow") {
    audit({{"event_type", "consent_denied"}, {"user", u->subject}, {"client_id", p->client_id}});
    return auth::Settle{p->id, auth::Denial{"access_denied", "the user denied the request"}, {}};
  }
  auto held = scopes_of(*u);
  std::vector<std::string> requested = p->scopes.empty() ? held : p->scopes;
  std::vector<std::string> chosen = form->all("scope");
  std::vector<std::string> granted;
  bool any_access = false;
  for (const auto& sc : requested)
    if (may_grant(held, sc) && std::find(chosen.begin(), chosen.end(), sc) != chosen.end()) {
      granted.push_back(sc);
      any_access = any_access || sc != "offline_access";
    }
  if (!any_access) {
    audit({{"event_type", "consent_denied"}, {"user", u->subject}, {"client_id", p->client_id}});
    return auth::Settle{p->id, auth::Denial{"access_denied", "the user granted no access"}, {}};
  }
  const std::string* remember = form->get("remember");
  if (remember && *remember == "1" && options_.remember_consent.count() > 0) {
    Consent k{u->subject,
              p->client_id,
              p->client_name,
              p->redirect_host,
              granted,
              clock_(),
              clock_() + options_.remember_consent.count()};
    if (auto r = consents_.remember(k); !r.ok())
      spdlog::warn("sign-in: cannot remember a consent: {}", r.reason());
  }
  json::array gs;
  for (const auto& g : granted) gs.emplace_back(g);
  audit({{"event_type", "consent_granted"},
         {"user", u->subject},
         {"client_id", p->client_id},
         {"scopes", std::move(gs)},
         {"remembered", remember != nullptr}});
  return auth::Settle{
      p->id, auth::Approval{u->subject, granted, u->auth_time, u->display_name, u->idp}, {}};
}

auth::Outcome LoginInteraction::post_cancel(Ctx& c) {
  auto form = protocol::parse_form(c.req.body());
  const std::string* id = form ? form->get("id") : nullptr;
  std::string pid = id ? *id : "";
  auto s = session(c.req);
  const std::string* token = form ? form->get(web::kCsrfField) : nullptr;
  bool ok = web::same_origin_request(c.req, origin_) &&
            (web::csrf_valid(key_, browser_id(c), "cancel:" + pid, token) ||
             (s && web::csrf_valid(key_, s->id, "cancel:" + pid, token)));
  if (!ok)
    return auth::Page{error_page(c, http::status::forbidden, "This form has expired",
                                 "The form was not accepted: it came from another site, or it "
                                 "is too old.")};
  auto p = c.host.find_pending(pid);
  if (!p)
    return auth::Page{error_page(c, http::status::bad_request, "This sign-in has expired",
                                 "This sign-in request is no longer valid: it expired, or it "
                                 "was already completed.")};
  audit({{"event_type", "login_cancelled"}, {"client_id", p->client_id}});
  return auth::Settle{p->id, auth::Denial{"access_denied", "the user cancelled the sign-in"}, {}};
}

auth::Outcome LoginInteraction::post_logout(Ctx& c) {
  auto form = protocol::parse_form(c.req.body());
  auto s = session(c.req);
  if (!form || !web::same_origin_request(c.req, origin_) || !s ||
      !web::csrf_valid(key_, s->id, "logout", form->get("csrf")))
    return auth::Page{error_page(c, http::status::forbidden, "This form has expired",
                                 "The form was not accepted: it came from another site, or your "
                                 "session already ended.")};
  sessions_.destroy(s->id);
  c.set_cookies.push_back(web::clear_cookie(cookies_, kSessionCookie));
  const std::string* id = form->get("id");
  if (id && !id->empty() && c.host.find_pending(*id)) {
    auto res = web::see_other(c.req.version(), url("/signin/login?id=" + protocol::url_encode(*id)));
    for (const auto& sc : c.set_cookies) res.insert(http::field::set_cookie, sc);
    return auth::Page{std::move(res)};
  }
  auto doc = web::message_page("Signed out", stylesheet(), "success", "You are signed out",
                               "You can close this window.");
  auto res = web::html_response(c.req.version(), http::status::ok, doc);
  for (const auto& sc : c.set_cookies) res.insert(http::field::set_cookie, sc);
  return auth::Page{std::move(res)};
}

auth::Outcome LoginInteraction::post_revoke(Ctx& c) {
  auto form = protocol::parse_form(c.req.body());
  auto s = session(c.req);
  auto u = s ? signed_in(*s) : std::nullopt;
  const std::string* client_id = form ? form->get("client_id") : nullptr;
  if (!form || !u || !client_id || !web::same_origin_request(c.req, origin_) ||
      !web::csrf_valid(key_, s->id, "revoke:" + *client_id, form->get("csrf")))
    return auth::Page{error_page(c, http::status::forbidden, "This form has expired",
                                 "The form was not accepted: it came from another site, or your "
                                 "session ended.")};
  bool forgot = consents_.forget(u->subject, *client_id);
  std::size_t families = hooks_.revoke_grants ? hooks_.revoke_grants(u->subject, *client_id) : 0;
  audit({{"event_type", "consent_revoked"},
         {"user", u->subject},
         {"client_id", *client_id},
         {"consent", forgot},
         {"grants", families}});
  auto res = web::see_other(c.req.version(), url("/account?revoked=1"));
  return auth::Page{std::move(res)};
}

bool LoginInteraction::handle(const Request& req, std::string_view source,
                              const auth::InteractionHost& host, Done done) {
  std::string path(protocol::target_path(req.target()));
  bool signin = path == "/signin" || path.rfind("/signin/", 0) == 0;
  bool account = path == "/account" || path.rfind("/account/", 0) == 0;
  if (!signin && !account) return false;
  Ctx c{req, source, host, {}, {}};
  bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  bool post = req.method() == http::verb::post;
  auto page = [&](Response r) { done(auth::Page{std::move(r)}); };

  if (path == "/signin/assets/bastion.css" && get) {
    page(web::stylesheet_response(req.version()));
  } else if (path == "/signin/login" && get) {
    auto q = protocol::parse_query(req.target());
    const std::string* id = q ? q->get("id") : nullptr;
    std::optional<auth::PendingAuthorization> p;
    if (id && !id->empty() && !(p = host.find_pending(*id)))
      page(error_page(c, http::status::bad_request, "This sign-in has expired",
                      "This sign-in request is no longer valid: it expired, or it was already "
                      "completed."));
    else
      page(login_page(c, p ? &*p : nullptr, "", "", http::status::ok));
  } else if (path == "/signin/login" && post) {
    post_login(c, done);
  } else if (path == "/signin/consent" && get) {
    done(get_consent(c));
  } else if (path == "/signin/consent" && post) {
    done(post_consent(c));
  } else if (path == "/signin/cancel" && post) {
    done(post_cancel(c));
  } else if (path == "/signin/logout" && post) {
    done(post_logout(c));
  } else if ((path == "/signin" || path == "/signin/" || path == "/signin/done") && get) {
    auto s = session(req);
    if (s)
      page(signed_in_page(c, "You are signed in",
                          "You can close this window and return to your application."));
    else
      page(signed_in_page(c, "Not signed in",
                          "Start from your application: it sends you here to sign in."));
  } else if ((path == "/account" || path == "/account/") && get) {
    auto s = session(req);
    auto u = s ? signed_in(*s) : std::nullopt;
    if (!u) {
      page(web::see_other(req.version(), url("/signin/login")));
    } else {
      auto q = protocol::parse_query(req.target());
      bool revoked = q && q->get("revoked");
      page(account_page(c, *s, *u, revoked ? "Access revoked." : ""));
    }
  } else if (path == "/account/revoke" && post) {
    done(post_revoke(c));
  } else if (path == "/signin/federated" && post) {
    done(post_federated(c));
  } else if (path.rfind("/signin/callback/", 0) == 0 && get) {
    done(federated_callback(c, std::string_view(path).substr(17)));
  } else if (get || post) {
    page(error_page(c, http::status::not_found, "Page not found",
                    "There is no such page on this Bastion."));
  } else {
    auto r = error_page(c, http::status::method_not_allowed, "Method not allowed",
                        "This page only answers GET and POST.");
    r.set(http::field::allow, "GET, POST");
    page(std::move(r));
  }
  return true;
}

}  // namespace bastion::login
