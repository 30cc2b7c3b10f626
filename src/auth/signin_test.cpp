#include "auth/signin.hpp"

#include <gtest/gtest.h>

#include <boost/url/parse.hpp>
#include <set>

#include "auth/redirect_uri.hpp"
#include "auth/test_util.hpp"
#include "storage/private_file.hpp"

namespace bastion::auth {
namespace {

using testing::FakeClock;
using testing::TempDir;
namespace json = boost::json;
namespace http = signin_http;

// An interaction that decides at once: approve as `user` with `scopes`, or deny.
struct ScriptedInteraction : Interaction {
  bool approve = true;
  std::string user = "alice";
  std::vector<std::string> scopes = {"mcp.access", "offline_access"};
  int begun = 0;
  int pruned = 0;
  void prune() override { ++pruned; }
  void begin(const Request&, std::string_view, const PendingAuthorization& p,
             const InteractionHost& host, Done done) override {
    ++begun;
    EXPECT_TRUE(host.find_pending(p.id));
    if (approve)
      done(Settle{p.id, Approval{user, scopes, 0, user, "test"}, {{"Set-Cookie", "s=1"}}});
    else
      done(Settle{p.id, Denial{"access_denied", "no"}, {}});
  }
  bool handle(const Request&, std::string_view, const InteractionHost&, Done) override {
    return false;
  }
};

// An interaction that only shows a page: the sign-in stays open (pending).
struct ShowsAPage : Interaction {
  void begin(const Request& req, std::string_view, const PendingAuthorization&,
             const InteractionHost&, Done done) override {
    done(Page{http::response<http::string_body>{http::status::ok, req.version()}});
  }
  bool handle(const Request&, std::string_view, const InteractionHost&, Done) override {
    return false;
  }
};

// An interaction that shows a page first (the sign-in stays pending) and
// settles with `answer` on the next request (the consent page's answer).
struct AsksTheUser : Interaction {
  explicit AsksTheUser(Decision a) : answer(std::move(a)) {}
  Decision answer;
  std::string pending_id;
  void begin(const Request& req, std::string_view, const PendingAuthorization& p,
             const InteractionHost&, Done done) override {
    pending_id = p.id;
    done(Page{http::response<http::string_body>{http::status::ok, req.version()}});
  }
  bool handle(const Request&, std::string_view, const InteractionHost&, Done done) override {
    done(Settle{pending_id, answer, {}});
    return true;
  }
};

const std::string kVerifier = std::string(43, 'v');

struct SigninFixture {
  TempDir tmp;
  FakeClock clock;
  Key key = Key::generate(Alg::kES256);
  std::set<std::string> revoked;
  std::shared_ptr<ScriptedInteraction> ui = std::make_shared<ScriptedInteraction>();
  std::unique_ptr<SignIn> s;
  std::function<void()> on_mint;  // runs as a token is signed (to interleave another request)

  explicit SigninFixture(const std::function<void(SignInOptions&)>& tweak = {}) {
    SignInOptions o;
    o.issuer = "https://as.example";
    o.resources = {"https://as.example/mcp", "https://as.example"};
    o.data_dir = tmp.path() / "auth";
    if (tweak) tweak(o);
    storage::ensure_private_dir(o.data_dir);
    SignIn::Hooks h;
    h.mint = [this](AccessToken c) -> Result<MintedToken> {
      if (on_mint) on_mint();
      c.iss = "https://as.example";
      c.iat = clock();
      c.exp = c.iat + 1800;
      c.jti = new_jti();
      auto t = issue_access_token(key, c);
      if (!t) return t.error();
      return MintedToken{t.value(), c};
    };
    h.revoke_access = [this](const std::string& jti, std::int64_t) { revoked.insert(jti); };
    h.configured = [](std::string_view id) -> std::optional<SignInClient> {
      if (id != "app") return std::nullopt;
      SignInClient c;
      c.meta.client_id = "app";
      c.meta.client_name = "App";
      c.meta.redirect_uris = {"http://127.0.0.1/callback", "https://app.example/cb"};
      c.meta.grant_types = {"authorization_code", "refresh_token"};
      c.meta.response_types = {"code"};
      return c;
    };
    s = std::make_unique<SignIn>(o, h, clock);
    s->set_interaction(ui);
  }

  SignIn::Response get(const std::string& target, std::string_view source = "127.0.0.1") {
    SignIn::Request req{http::verb::get, target, 11};
    std::optional<SignIn::Response> out;
    s->authorize(req, source, [&](SignIn::Response r) { out = std::move(r); });
    EXPECT_TRUE(out);
    return *out;
  }

  std::string authorize_url(std::string extra = {}) {
    return "/oauth2/authorize?response_type=code&client_id=app&redirect_uri=" +
           form_encode("http://127.0.0.1:5555/callback") +
           "&state=xyz&code_challenge=" + pkce_s256(kVerifier) +
           "&code_challenge_method=S256&resource=" + form_encode("https://as.example/mcp") + extra;
  }

  // The query parameters of a redirect's Location.
  static std::map<std::string, std::string> params(const SignIn::Response& r) {
    std::map<std::string, std::string> out;
    std::string loc(r[http::field::location]);
    auto q = loc.find('?');
    EXPECT_NE(q, std::string::npos) << loc;
    std::string err;
    auto f = parse_form(loc.substr(q + 1), &err);
    EXPECT_TRUE(f) << err;
    for (auto& [k, v] : *f) out[k] = v;
    return out;
  }

  std::string code() {
    auto r = get(authorize_url());
    EXPECT_EQ(r.result(), http::status::found) << r.body();
    return params(r)["code"];
  }

  Form token_form(const std::string& code, std::string verifier = kVerifier) {
    return Form{{"grant_type", "authorization_code"},
                {"code", code},
                {"redirect_uri", "http://127.0.0.1:5555/callback"},
                {"code_verifier", verifier},
                {"resource", "https://as.example/mcp"}};
  }
  SignInClient app() { return s->find_client("app").value(); }
};

json::object ok(const SignIn::Grant& v) {
  if (!v) ADD_FAILURE() << v.error().code << ": " << v.error().description;
  return v ? v.value() : json::object{};
}
std::string jti_of(const std::string& token) {
  auto a = token.find('.'), b = token.rfind('.');
  return std::string(
      json::parse(b64url_decode(token.substr(a + 1, b - a - 1)).value()).at("jti").as_string());
}
std::string err(const SignIn::Grant& v) { return v ? "ok" : v.error().code; }

TEST(SignIn, CodeFlowRedirectsWithCodeStateAndIss) {
  SigninFixture f;
  auto r = f.get(f.authorize_url());
  ASSERT_EQ(r.result(), http::status::found) << r.body();
  std::string loc(r[http::field::location]);
  EXPECT_EQ(loc.rfind("http://127.0.0.1:5555/callback?", 0), 0u) << loc;
  auto p = SigninFixture::params(r);
  EXPECT_EQ(p["state"], "xyz");
  EXPECT_EQ(p["iss"], "https://as.example");
  EXPECT_EQ(p["code"].size(), 43u);
  EXPECT_EQ(r["Set-Cookie"], "s=1");
  EXPECT_EQ(r[http::field::cache_control], "no-store");
  auto body = ok(f.s->redeem_code(f.token_form(p["code"]), f.app()));
  EXPECT_EQ(body.at("token_type").as_string(), "Bearer");
  EXPECT_EQ(body.at("scope").as_string(), "mcp.access offline_access");
  EXPECT_TRUE(body.contains("refresh_token"));
}

TEST(SignIn, ErrorsBeforeTheRedirectUriIsTrustedArePagesNeverRedirects) {
  SigninFixture f;
  for (std::string target : {
           "/oauth2/authorize?response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fevil."
           "example%2Fcb",
           "/oauth2/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fevil."
           "example%2Fcb",
           "/oauth2/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp."
           "example%2Fcb%2F..%2F..%2Fevil",
           "/oauth2/authorize?response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp."
           "example%2Fcb%23frag",
           "/oauth2/authorize?response_type=code&client_id=app&redirect_uri=http%3A%2F%2Flocalhost"
           "%3A5555%2Fcallback",  // localhost is not the registered 127.0.0.1
           "/oauth2/authorize?response_type=code&client_id=app",  // two registered: must say which
           "/oauth2/authorize?response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
           "/oauth2/authorize?client_id=app&client_id=app",
       }) {
    auto r = f.get(target);
    EXPECT_EQ(r.result(), http::status::bad_request) << target;
    EXPECT_FALSE(r.count(http::field::location)) << target;
    EXPECT_NE(r[http::field::content_type].find("text/html"), std::string::npos);
    EXPECT_NE(r["Content-Security-Policy"].find("frame-ancestors 'none'"), std::string::npos);
    EXPECT_EQ(r.body().find("evil"), std::string::npos);
  }
  EXPECT_EQ(f.ui->begun, 0);
}

// Authorization requests that fail a protocol check (RFC 6749 §4.1.2.1),
// made from a good one (`url`, of the client to test) by dropping a parameter
// and adding another; with the error each should get.
struct ProtocolErrorCase {
  std::string drop, add, error;
};
const ProtocolErrorCase kProtocolErrors[] = {
    {"code_challenge=", "", "invalid_request"},         // PKCE missing
    {"code_challenge_method=", "", "invalid_request"},  // method missing (plain default)
    {"code_challenge_method=S256", "&code_challenge_method=plain", "invalid_request"},
    {"code_challenge=", "&code_challenge=short", "invalid_request"},
    {"response_type=code", "&response_type=token", "unsupported_response_type"},
    {"resource=", "&resource=https%3A%2F%2Fother.example%2Fmcp", "invalid_target"},
    {"", "&scope=a%22b", "invalid_scope"},
    {"", "&request_uri=urn%3Ax", "request_not_supported"},
};
std::string with_error(std::string url, const ProtocolErrorCase& c) {
  if (!c.drop.empty()) {
    auto i = url.find(c.drop);
    EXPECT_NE(i, std::string::npos) << c.drop;
    auto j = url.find('&', i);
    url.erase(i, j == std::string::npos ? std::string::npos : j - i + 1);
  }
  return url + c.add;
}

TEST(SignIn, ProtocolErrorsRedirectWithIssAndState) {
  SigninFixture f;
  for (const auto& c : kProtocolErrors) {
    std::string url = with_error(f.authorize_url(), c);
    auto r = f.get(url);
    ASSERT_EQ(r.result(), http::status::found) << url << r.body();
    auto p = SigninFixture::params(r);
    EXPECT_EQ(p["error"], c.error) << url;
    EXPECT_EQ(p["iss"], "https://as.example");
    EXPECT_EQ(p["state"], "xyz");
    EXPECT_FALSE(p.count("code"));
  }
  EXPECT_EQ(f.ui->begun, 0);
}

// Registers a public client (DCR) whose only redirect URI is the attacker's page.
std::string register_phisher(SigninFixture& f) {
  SignIn::Request req{http::verb::post, "/oauth2/register", 11};
  req.set(http::field::content_type, "application/json");
  req.body() = R"({"client_name":"Trust me","redirect_uris":["https://phish.example/cb"],
      "grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"})";
  req.prepare_payload();
  auto r = f.s->register_client(req, "10.0.0.1");
  EXPECT_EQ(r.result(), http::status::created) << r.body();
  return std::string(json::parse(r.body()).at("client_id").as_string());
}

std::string phisher_url(const std::string& id) {
  return "/oauth2/authorize?response_type=code&client_id=" + form_encode(id) +
         "&redirect_uri=" + form_encode("https://phish.example/cb") +
         "&state=%3Cscript%3Ex%3C%2Fscript%3E&code_challenge=" + pkce_s256(kVerifier) +
         "&code_challenge_method=S256&resource=" + form_encode("https://as.example/mcp");
}

void expect_refusal_page(const SignIn::Response& r, const std::string& what) {
  EXPECT_EQ(r.result(), http::status::bad_request) << what;
  EXPECT_FALSE(r.count(http::field::location)) << what << ": " << r[http::field::location];
  EXPECT_NE(r[http::field::content_type].find("text/html"), std::string::npos) << what;
  EXPECT_NE(r["Content-Security-Policy"].find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_FALSE(r.count(http::field::access_control_allow_origin)) << what;
  EXPECT_EQ(r.body().find("phish"), std::string::npos) << what;
  EXPECT_EQ(r.body().find("<script"), std::string::npos) << what;
}

// Attack (RFC 9700 §4.11.2): anyone may register a client whose redirect URI
// is a phishing page, then send a victim a broken authorization request
// (a bad scope, response_type, PKCE challenge...): Bastion must not forward
// the victim there with its own address as the trust anchor.
TEST(SignIn, ProtocolErrorsOfARegisteredClientArePagesNeverRedirects) {
  SigninFixture f;
  std::string id = register_phisher(f);
  for (const auto& c : kProtocolErrors) {
    std::string url = with_error(phisher_url(id), c);
    auto r = f.get(url);
    expect_refusal_page(r, url);
    EXPECT_NE(r.body().find(c.error), std::string::npos) << url;
  }
  EXPECT_EQ(f.ui->begun, 0);
}

// Attack: a silent request (prompt=none) for a registered client is denied at
// once (login_required) with nobody having seen anything: a page too. The
// configured client still gets its redirect (DenialRedirectsAccessDenied).
TEST(SignIn, AnUnattendedDenialOfARegisteredClientIsAPage) {
  SigninFixture f;
  std::string id = register_phisher(f);
  f.ui->approve = false;
  auto r = f.get(phisher_url(id) + "&prompt=none");
  EXPECT_EQ(f.ui->begun, 1);
  expect_refusal_page(r, "prompt=none");
}

// Use: once the user has seen the consent page and said no, even a
// registered client gets access_denied at its redirect URI.
TEST(SignIn, AUsersDenialRedirectsEvenARegisteredClient) {
  SigninFixture f;
  std::string id = register_phisher(f);
  auto asks = std::make_shared<AsksTheUser>(Denial{"access_denied", "the user denied the request"});
  f.s->set_interaction(asks);
  auto shown = f.get(phisher_url(id));
  EXPECT_EQ(shown.result(), http::status::ok);
  ASSERT_FALSE(asks->pending_id.empty());
  SignIn::Request answer{http::verb::post, "/signin/consent", 11};
  std::optional<SignIn::Response> out;
  ASSERT_TRUE(f.s->interaction_request(answer, "127.0.0.1",
                                       [&](SignIn::Response r) { out = std::move(r); }));
  ASSERT_TRUE(out);
  ASSERT_EQ(out->result(), http::status::see_other) << out->body();  // after a POST
  std::string loc((*out)[http::field::location]);
  EXPECT_EQ(loc.rfind("https://phish.example/cb?", 0), 0u) << loc;
  EXPECT_EQ(SigninFixture::params(*out)["error"], "access_denied");
}

TEST(SignIn, DenialRedirectsAccessDenied) {
  SigninFixture f;
  f.ui->approve = false;
  auto p = SigninFixture::params(f.get(f.authorize_url()));
  EXPECT_EQ(p["error"], "access_denied");
  EXPECT_EQ(p["iss"], "https://as.example");
  EXPECT_EQ(p["state"], "xyz");
}

TEST(SignIn, ApprovalNeverGrantsMoreThanAsked) {
  SigninFixture f;
  f.ui->scopes = {"mcp.access", "mcp:server:fs"};
  auto p = SigninFixture::params(f.get(f.authorize_url("&scope=mcp%3Aserver%3Afs")));
  auto body = ok(f.s->redeem_code(f.token_form(p["code"]), f.app()));
  EXPECT_EQ(body.at("scope").as_string(), "mcp:server:fs");
  // Nothing grantable: access_denied, no code.
  f.ui->scopes = {"mcp:server:git"};
  auto q = SigninFixture::params(f.get(f.authorize_url("&scope=mcp%3Aserver%3Afs")));
  EXPECT_EQ(q["error"], "access_denied");
}

TEST(SignIn, CodeIsBoundToVerifierClientRedirectAndResource) {
  SigninFixture f;
  auto form = f.token_form(f.code(), std::string(43, 'w'));
  EXPECT_EQ(err(f.s->redeem_code(form, f.app())), "invalid_grant");  // wrong verifier
  auto c2 = f.code();
  auto missing = f.token_form(c2);
  missing.erase(std::find_if(missing.begin(), missing.end(),
                             [](auto& kv) { return kv.first == "code_verifier"; }));
  EXPECT_EQ(err(f.s->redeem_code(missing, f.app())), "invalid_grant");
  auto c3 = f.code();
  auto plain = f.token_form(c3, pkce_s256(kVerifier));  // the challenge itself as "plain" verifier
  EXPECT_EQ(err(f.s->redeem_code(plain, f.app())), "invalid_grant");
  auto c4 = f.code();
  auto other_redirect = f.token_form(c4);
  other_redirect[2].second = "http://127.0.0.1:6666/callback";
  EXPECT_EQ(err(f.s->redeem_code(other_redirect, f.app())), "invalid_grant");
  auto c5 = f.code();
  auto other_resource = f.token_form(c5);
  other_resource[4].second = "https://elsewhere.example/mcp";
  EXPECT_EQ(err(f.s->redeem_code(other_resource, f.app())), "invalid_target");
  auto c6 = f.code();
  SignInClient other = f.app();
  other.meta.client_id = "someone-else";
  EXPECT_EQ(err(f.s->redeem_code(f.token_form(c6), other)), "invalid_grant");
  // Codes expire.
  auto c7 = f.code();
  f.clock.advance(61);
  EXPECT_EQ(err(f.s->redeem_code(f.token_form(c7), f.app())), "invalid_grant");
}

TEST(SignIn, CodeReplayRevokesWhatTheCodeIssued) {
  SigninFixture f;
  auto c = f.code();
  auto body = ok(f.s->redeem_code(f.token_form(c), f.app()));
  std::string jti = jti_of(std::string(body.at("access_token").as_string()));
  EXPECT_FALSE(f.revoked.count(std::string(jti)));
  EXPECT_EQ(err(f.s->redeem_code(f.token_form(c), f.app())), "invalid_grant");
  EXPECT_TRUE(f.revoked.count(std::string(jti)));
  // And its refresh token is dead.
  Form rf{{"grant_type", "refresh_token"},
          {"refresh_token", std::string(body.at("refresh_token").as_string())}};
  EXPECT_EQ(err(f.s->refresh(rf, f.app())), "invalid_grant");
}

TEST(SignIn, CodeReplayRacingTheFirstRedemptionRevokesItToo) {
  SigninFixture f;
  auto c = f.code();
  std::string replay_error;
  bool raced = false;
  // The replay arrives while the first redemption is signing its token, before
  // its refresh family exists: it must still win.
  f.on_mint = [&] {
    if (raced) return;
    raced = true;
    replay_error = err(f.s->redeem_code(f.token_form(c), f.app()));
  };
  auto first = f.s->redeem_code(f.token_form(c), f.app());
  ASSERT_TRUE(raced);
  EXPECT_EQ(replay_error, "invalid_grant");
  EXPECT_EQ(err(first), "invalid_grant");
  EXPECT_EQ(f.revoked.size(), 1u);  // the token signed for it never becomes usable
}

TEST(SignIn, RefreshRotatesAndReuseRevokesTheFamily) {
  SigninFixture f;
  auto first = ok(f.s->redeem_code(f.token_form(f.code()), f.app()));
  std::string rt1(first.at("refresh_token").as_string());
  auto second = ok(f.s->refresh({{"refresh_token", rt1}}, f.app()));
  std::string rt2(second.at("refresh_token").as_string());
  EXPECT_NE(rt1, rt2);
  EXPECT_EQ(second.at("scope").as_string(), "mcp.access offline_access");
  // Narrowing is allowed, widening is not.
  auto third = ok(f.s->refresh({{"refresh_token", rt2}, {"scope", "mcp.access"}}, f.app()));
  std::string rt3(third.at("refresh_token").as_string());
  EXPECT_EQ(third.at("scope").as_string(), "mcp.access");
  EXPECT_EQ(err(f.s->refresh({{"refresh_token", rt3}, {"scope", "admin"}}, f.app())),
            "invalid_scope");
  // Another client cannot use it.
  SignInClient other = f.app();
  other.meta.client_id = "other";
  EXPECT_EQ(err(f.s->refresh({{"refresh_token", rt3}}, other)), "invalid_grant");
  std::size_t revoked_before = f.revoked.size();
  // Reuse of a rotated-out token: the family dies, with every access token it issued.
  EXPECT_EQ(err(f.s->refresh({{"refresh_token", rt1}}, f.app())), "invalid_grant");
  EXPECT_GE(f.revoked.size(), revoked_before + 3);
  EXPECT_EQ(err(f.s->refresh({{"refresh_token", rt3}}, f.app())), "invalid_grant");
  // A forged secret for a live family revokes nothing.
  auto fresh = ok(f.s->redeem_code(f.token_form(f.code()), f.app()));
  std::string rt(fresh.at("refresh_token").as_string());
  std::string forged = rt.substr(0, rt.find('.') + 1) + std::string(43, 'A');
  EXPECT_EQ(err(f.s->refresh({{"refresh_token", forged}}, f.app())), "invalid_grant");
  EXPECT_EQ(err(f.s->refresh({{"refresh_token", rt}}, f.app())), "ok");
}

TEST(SignIn, RefreshTokensDieWhenIdle) {
  SigninFixture f;
  auto first = ok(f.s->redeem_code(f.token_form(f.code()), f.app()));
  f.clock.advance(14 * 86400 + 1);
  EXPECT_EQ(err(f.s->refresh(
                {{"refresh_token", std::string(first.at("refresh_token").as_string())}}, f.app())),
            "invalid_grant");
}

TEST(SignIn, PendingAuthorizationsSettleOnce) {
  SigninFixture f;
  auto ui = std::make_shared<AsksTheUser>(Approval{"bob", {"mcp.access"}, 0, "bob", "test"});
  f.s->set_interaction(ui);
  EXPECT_EQ(f.get(f.authorize_url()).result(), http::status::ok);
  auto pending = f.s->find_pending(ui->pending_id);
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->client_name, "App");
  EXPECT_EQ(pending->redirect_host, "127.0.0.1");
  EXPECT_TRUE(pending->loopback_redirect);
  SignIn::Request post{http::verb::post, "/signin/consent", 11};
  std::optional<SignIn::Response> first, second;
  EXPECT_TRUE(f.s->interaction_request(post, "127.0.0.1", [&](auto r) { first = std::move(r); }));
  EXPECT_TRUE(f.s->interaction_request(post, "127.0.0.1", [&](auto r) { second = std::move(r); }));
  EXPECT_EQ(first->result(), http::status::see_other);
  EXPECT_EQ(second->result(), http::status::bad_request);  // already settled: a page
  EXPECT_FALSE(second->count(http::field::location));
}

TEST(SignIn, RegistrationPersistsAndIsBounded) {
  SigninFixture f;
  auto reg = [&](std::string body, std::string source = "10.0.0.1") {
    SignIn::Request req{http::verb::post, "/oauth2/register", 11};
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
    return f.s->register_client(req, source);
  };
  auto r = reg(
      R"({"client_name":"Cursor","redirect_uris":["cursor://anysphere.cursor-mcp/oauth/callback",
      "https://www.cursor.com/agents/mcp/oauth/callback","http://localhost:8787/callback"],
      "grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"})");
  ASSERT_EQ(r.result(), http::status::created) << r.body();
  auto body = json::parse(r.body()).as_object();
  std::string id(body.at("client_id").as_string());
  EXPECT_FALSE(body.contains("client_secret"));
  auto c = f.s->find_client(id);
  ASSERT_TRUE(c) << c.reason();
  EXPECT_EQ(c->kind, ClientKind::kRegistered);
  EXPECT_EQ(c->meta.redirect_uris.size(), 3u);
  EXPECT_TRUE(f.s->client_active(id));
  // A confidential registration gets a secret once; only its hash is kept.
  auto conf = json::parse(reg(R"({"redirect_uris":["https://c.example/cb"]})").body()).as_object();
  std::string secret(conf.at("client_secret").as_string());
  auto cc = f.s->find_client(std::string(conf.at("client_id").as_string())).value();
  EXPECT_TRUE(SignIn::registered_secret_matches(cc, secret));
  EXPECT_FALSE(SignIn::registered_secret_matches(cc, secret + "x"));
  EXPECT_EQ(cc.secret_hash.find(secret), std::string::npos);
  // Malformed metadata, wrong content type, oversize.
  EXPECT_EQ(reg("{").result(), http::status::bad_request);
  EXPECT_EQ(reg(R"({"redirect_uris":["http://evil.example/cb"]})").result(),
            http::status::bad_request);
  EXPECT_EQ(reg(std::string(20000, ' ')).result(), http::status::payload_too_large);
  // Per-source rate limit (20 an hour by default): the 21st is refused.
  int accepted = 0, limited = 0;
  for (int i = 0; i < 25; ++i) {
    auto x = reg(R"({"redirect_uris":["https://c.example/cb"]})", "10.9.9.9");
    accepted += x.result() == http::status::created;
    limited += x.result() == http::status::too_many_requests;
  }
  EXPECT_EQ(accepted, 20);
  EXPECT_EQ(limited, 5);
  // Removal: gone, and no longer active.
  EXPECT_TRUE(f.s->remove_registered_client(id));
  EXPECT_FALSE(f.s->find_client(id));
  EXPECT_FALSE(f.s->client_active(id));
}

// A registration (Content-Type application/json) from `source`.
SignIn::Response register_from(SigninFixture& f, std::string body, std::string_view source) {
  SignIn::Request req{http::verb::post, "/oauth2/register", 11};
  req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  return f.s->register_client(req, source);
}

const char* const kPublicLoopbackClient =
    R"({"redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none",
    "grant_types":["authorization_code","refresh_token"]})";

// Attack: registrations nobody uses fill max_clients for good, and then no
// one can register. Unused clients go after a day; a client tokens were
// issued to lives on while it is used, and goes after idle_lifetime.
TEST(SignIn, RegisteredClientsNeverUsedExpireAndFreeTheirPlaces) {
  SigninFixture f([](SignInOptions& o) { o.registration.max_clients = 3; });
  auto dir = f.tmp.path() / "auth" / "registered";
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = register_from(f, kPublicLoopbackClient, "198.51.100." + std::to_string(i));
    ASSERT_EQ(r.result(), http::status::created) << r.body();
    ids.emplace_back(json::parse(r.body()).at("client_id").as_string());
  }
  EXPECT_EQ(register_from(f, kPublicLoopbackClient, "203.0.113.1").result(),
            http::status::service_unavailable);
  // ids[0] is used: a code redeemed for a token.
  std::string url = f.authorize_url();
  url.replace(url.find("client_id=app"), 13, "client_id=" + ids[0]);
  auto code = SigninFixture::params(f.get(url))["code"];
  ASSERT_FALSE(code.empty());
  auto used = f.s->redeem_code(f.token_form(code), f.s->find_client(ids[0]).value());
  ASSERT_TRUE(used) << used.error().description;
  f.clock.advance(86400 - 1);
  EXPECT_EQ(register_from(f, kPublicLoopbackClient, "203.0.113.1").result(),
            http::status::service_unavailable);
  f.clock.advance(1);  // a day: the two never used are gone, their places free
  EXPECT_FALSE(f.s->find_client(ids[1]));
  EXPECT_FALSE(f.s->client_active(ids[2]));
  EXPECT_TRUE(f.s->find_client(ids[0]));
  EXPECT_EQ(register_from(f, kPublicLoopbackClient, "203.0.113.1").result(), http::status::created);
  f.s->prune();
  EXPECT_EQ(testing::record_files(dir), 2u);
  // The used client goes after 30 days without a token.
  f.clock.advance(30 * 86400 - 86400 - 1);
  EXPECT_TRUE(f.s->find_client(ids[0]));
  f.clock.advance(1);
  EXPECT_FALSE(f.s->find_client(ids[0]));
  f.s->prune();
  EXPECT_EQ(testing::record_files(dir), 0u);
}

// Attack: a flood of registrations from many addresses cleared the
// per-address table, so an address at its limit could register again at
// once. The flood now pushes out addresses below their limit only.
TEST(SignIn, AFloodOfAddressesDoesNotResetALimitedOne) {
  SigninFixture f([](SignInOptions& o) {
    o.registration.per_source_per_hour = 2;
    o.registration_sources = 10;
  });
  const std::string limited = "192.0.2.66";
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(register_from(f, kPublicLoopbackClient, limited).result(), http::status::created);
  EXPECT_EQ(register_from(f, kPublicLoopbackClient, limited).result(),
            http::status::too_many_requests);
  for (int i = 0; i < 25; ++i)
    EXPECT_EQ(register_from(f, kPublicLoopbackClient, "198.51.100." + std::to_string(i)).result(),
              http::status::created);
  EXPECT_EQ(register_from(f, kPublicLoopbackClient, limited).result(),
            http::status::too_many_requests);
  f.clock.advance(3600);  // its hour is over
  EXPECT_EQ(register_from(f, kPublicLoopbackClient, limited).result(), http::status::created);
}

// Attack: one address opens sign-ins until the global limit is reached, so
// every other user would get temporarily_unavailable. The per-source limit
// stops it first; another address still gets its sign-in page.
TEST(SignIn, OneSourceCannotHoldEverySignInSlot) {
  SigninFixture f([](SignInOptions& o) {
    o.max_pending = 100;
    o.max_pending_per_source = 5;
  });
  f.s->set_interaction(std::make_shared<ShowsAPage>());
  int opened = 0, refused = 0;
  for (int i = 0; i < 150; ++i) {
    auto r = f.get(f.authorize_url(), "203.0.113.7");
    if (r.result() == http::status::ok) {
      ++opened;
    } else {
      ASSERT_EQ(r.result(), http::status::found) << r.body();
      EXPECT_EQ(SigninFixture::params(r)["error"], "temporarily_unavailable");
      ++refused;
    }
  }
  EXPECT_EQ(opened, 5);
  EXPECT_EQ(refused, 145);
  // Someone else is not locked out.
  EXPECT_EQ(f.get(f.authorize_url(), "198.51.100.2").result(), http::status::ok);
  EXPECT_EQ(f.get(f.authorize_url(), "2001:db8:1::/64").result(), http::status::ok);
}

// Use: a source's sign-ins count until they expire; then it may start more.
TEST(SignIn, ASourcesSignInsCountUntilTheyExpire) {
  SigninFixture f([](SignInOptions& o) { o.max_pending_per_source = 3; });
  // Approved at once: the pending record is taken, but the slot still counts.
  for (int i = 0; i < 3; ++i) {
    auto r = f.get(f.authorize_url(), "192.0.2.1");
    ASSERT_EQ(r.result(), http::status::found);
    EXPECT_TRUE(SigninFixture::params(r).count("code"));
  }
  auto refused = f.get(f.authorize_url(), "192.0.2.1");
  EXPECT_EQ(SigninFixture::params(refused)["error"], "temporarily_unavailable");
  EXPECT_EQ(SigninFixture::params(refused)["state"], "xyz");
  EXPECT_TRUE(SigninFixture::params(f.get(f.authorize_url(), "192.0.2.2")).count("code"));
  f.clock.advance(599);
  EXPECT_EQ(SigninFixture::params(f.get(f.authorize_url(), "192.0.2.1"))["error"],
            "temporarily_unavailable");
  f.clock.advance(1);  // pending_lifetime (600 s) has passed
  f.s->prune();
  EXPECT_TRUE(SigninFixture::params(f.get(f.authorize_url(), "192.0.2.1")).count("code"));
}

// Attack: sign-in state that is never deleted fills the data directory.
// SignIn::prune deletes expired pending sign-ins, codes, used markers and
// families, and prunes the interaction's state.
TEST(SignIn, PruneDeletesExpiredStateAndPrunesTheInteraction) {
  SigninFixture f;
  auto dir = f.tmp.path() / "auth";
  f.s->set_interaction(std::make_shared<ShowsAPage>());
  EXPECT_EQ(f.get(f.authorize_url()).result(), http::status::ok);  // stays pending
  f.s->set_interaction(f.ui);
  f.code();  // never redeemed
  auto redeemed = ok(f.s->redeem_code(f.token_form(f.code()), f.app()));  // leaves a .used marker
  EXPECT_TRUE(redeemed.contains("refresh_token"));
  EXPECT_GE(testing::record_files(dir / "pending"), 3u);
  EXPECT_EQ(testing::record_files(dir / "codes"), 2u);
  EXPECT_EQ(testing::record_files(dir / "refresh"), 1u);
  // Nothing expired yet: prune keeps everything.
  f.s->prune();
  EXPECT_EQ(f.ui->pruned, 1);
  EXPECT_EQ(testing::record_files(dir / "codes"), 2u);
  EXPECT_EQ(testing::record_files(dir / "refresh"), 1u);
  f.clock.advance(601);
  f.s->prune();
  EXPECT_EQ(f.ui->pruned, 2);
  EXPECT_EQ(testing::record_files(dir / "pending"), 0u);
  EXPECT_EQ(testing::record_files(dir / "codes"), 0u);
  EXPECT_EQ(testing::record_files(dir / "refresh"), 1u);  // a refresh family lives 14 days
  f.clock.advance(14 * 86400);
  f.s->prune();
  EXPECT_EQ(testing::record_files(dir / "refresh"), 0u);
}

// Attack: the user unticked "Stay signed in" (no offline_access), yet the
// client got a refresh token that outlives the sign-in by weeks.
TEST(SignIn, NoRefreshTokenWithoutOfflineAccess) {
  SigninFixture f;
  f.ui->scopes = {"mcp.access"};  // offline_access not granted
  auto r = f.get(f.authorize_url("&scope=" + form_encode("mcp.access offline_access")));
  auto p = SigninFixture::params(r);
  ASSERT_TRUE(p.count("code")) << r[http::field::location];
  auto body = ok(f.s->redeem_code(f.token_form(p["code"]), f.app()));
  EXPECT_EQ(body.at("scope").as_string(), "mcp.access");
  EXPECT_TRUE(body.contains("access_token"));
  EXPECT_FALSE(body.contains("refresh_token"));
}

// Use: granted offline_access gives a refresh token, and refreshes keep
// working (also when they narrow the scope to leave offline_access out).
TEST(SignIn, OfflineAccessGivesARefreshTokenThatKeepsRefreshing) {
  SigninFixture f;
  f.ui->scopes = {"mcp.access", "offline_access"};
  auto p = SigninFixture::params(
      f.get(f.authorize_url("&scope=" + form_encode("mcp.access offline_access"))));
  auto body = ok(f.s->redeem_code(f.token_form(p["code"]), f.app()));
  EXPECT_EQ(body.at("scope").as_string(), "mcp.access offline_access");
  ASSERT_TRUE(body.contains("refresh_token"));
  std::string rt(body.at("refresh_token").as_string());
  auto narrowed = ok(f.s->refresh({{"refresh_token", rt}, {"scope", "mcp.access"}}, f.app()));
  ASSERT_TRUE(narrowed.contains("refresh_token"));
  auto again = ok(f.s->refresh(
      {{"refresh_token", std::string(narrowed.at("refresh_token").as_string())}}, f.app()));
  EXPECT_TRUE(again.contains("refresh_token"));
  EXPECT_EQ(again.at("scope").as_string(), "mcp.access offline_access");
}

// A client not registered for the refresh_token grant asks for
// offline_access and the user would grant it: RFC 6749 §3.3 and OIDC Core
// §11 let the server ignore it; the code and token carry the scopes granted
// without it, and no refresh token (not invalid_scope: the rest is granted).
TEST(SignIn, OfflineAccessOfAClientThatMayNotRefreshIsIgnored) {
  SigninFixture f;
  SignIn::Request req{http::verb::post, "/oauth2/register", 11};
  req.set(http::field::content_type, "application/json");
  req.body() = R"({"redirect_uris":["http://127.0.0.1/callback"],
      "grant_types":["authorization_code"],"token_endpoint_auth_method":"none"})";
  req.prepare_payload();
  auto reg = f.s->register_client(req, "10.0.0.1");
  ASSERT_EQ(reg.result(), http::status::created) << reg.body();
  std::string id(json::parse(reg.body()).at("client_id").as_string());
  f.ui->scopes = {"mcp.access", "offline_access"};
  std::string url = f.authorize_url("&scope=" + form_encode("mcp.access offline_access"));
  url.replace(url.find("client_id=app"), 13, "client_id=" + form_encode(id));
  auto p = SigninFixture::params(f.get(url));
  ASSERT_TRUE(p.count("code")) << p["error"];
  auto body = ok(f.s->redeem_code(f.token_form(p["code"]), f.s->find_client(id).value()));
  EXPECT_EQ(body.at("scope").as_string(), "mcp.access");
  EXPECT_TRUE(body.contains("access_token"));
  EXPECT_FALSE(body.contains("refresh_token"));
}

TEST(SignIn, ResourceIdentifiers) {
  SigninFixture f;
  EXPECT_EQ(f.s->resource_for("https://as.example/mcp"), "https://as.example/mcp");
  EXPECT_EQ(f.s->resource_for("HTTPS://AS.example/mcp"), "https://as.example/mcp");
  EXPECT_EQ(f.s->resource_for("https://as.example/mcp/"), "https://as.example/mcp");
  EXPECT_EQ(f.s->resource_for("https://as.example"), "https://as.example/mcp");
  EXPECT_FALSE(f.s->resource_for("https://as.example/MCP"));
  EXPECT_FALSE(f.s->resource_for("https://as.example/mcp#x"));
  EXPECT_FALSE(f.s->resource_for("https://as.example.evil/mcp"));
  EXPECT_FALSE(f.s->resource_for("mcp"));
}

}  // namespace
}  // namespace bastion::auth
