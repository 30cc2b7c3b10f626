// Tokens per second per core: RFC 9068 access-token issuance and full
// validation (kid lookup, signature, typ/iss/aud/exp/iat, revocation check)
// for each signing algorithm, the whole token endpoint for each grant
// (client_credentials, authorization_code, refresh_token, and a whole
// sign-in: authorize + code redemption), and argon2id.
// Single-threaded: items_per_second is the per-core figure.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "auth/clients.hpp"
#include "auth/jwt.hpp"
#include "auth/server.hpp"
#include "auth/signin.hpp"

namespace auth = bastion::auth;

namespace {

constexpr const char* kIss = "https://gw.example";
constexpr const char* kAud = "https://gw.example/mcp";

auth::AccessToken claims() {
  auth::AccessToken t;
  t.iss = kIss;
  t.sub = t.client_id = "mcp-client";
  t.aud = {kAud};
  t.scopes = {"mcp.access"};
  t.iat = auth::system_now();
  t.exp = t.iat + 1800;
  t.jti = auth::new_jti();
  return t;
}

const auth::Key& key_for(auth::Alg alg) {
  static const auth::Key es = auth::Key::generate(auth::Alg::kES256);
  static const auth::Key rs = auth::Key::generate(auth::Alg::kRS256);
  static const auth::Key ed = auth::Key::generate(auth::Alg::kEdDSA);
  static const auth::Key hs = auth::Key::generate(auth::Alg::kHS256);
  switch (alg) {
    case auth::Alg::kES256:
      return es;
    case auth::Alg::kRS256:
      return rs;
    case auth::Alg::kEdDSA:
      return ed;
    default:
      return hs;
  }
}

void BM_Issue(benchmark::State& state, auth::Alg alg) {
  const auth::Key& key = key_for(alg);
  auth::AccessToken c = claims();
  for (auto _ : state) {
    c.jti = auth::new_jti();
    auto tok = auth::issue_access_token(key, c);
    benchmark::DoNotOptimize(tok);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Validate(benchmark::State& state, auth::Alg alg) {
  auto key = std::make_shared<const auth::Key>(key_for(alg));
  auth::TokenValidator v(
      auth::ValidatorOptions{.audience = kAud},
      {auth::TrustedIssuer{
          kIss, [key](std::string_view kid) { return kid == key->kid() ? key : nullptr; }}},
      [](std::string_view) { return false; });
  std::string tok = auth::issue_access_token(*key, claims()).value();
  for (auto _ : state) {
    auto r = v.validate(tok);
    if (!r) state.SkipWithError(r.reason().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// POST /oauth2/token through AuthServer::handle (form parsing, Basic auth with
// the verified-secret cache warm, issuance, JSON response).
void BM_TokenEndpoint(benchmark::State& state) {
  static auto client = auth::create_client("mcp-client", {"mcp.access"}).value();
  std::string dir = (std::filesystem::temp_directory_path() / "bastion-auth-bench-XXXXXX").string();
  ::mkdtemp(dir.data());
  auth::Options o;
  o.data_dir = std::filesystem::path(dir) / "auth";
  o.clients = {auth::ClientConfig{client.client_id, client.secret_hash, client.scopes, {}}};
  auth::AuthServer as(o);
  auth::Request req{auth::http::verb::post, "/oauth2/token", 11};
  req.set(auth::http::field::content_type, "application/x-www-form-urlencoded");
  req.body() =
      "grant_type=client_credentials&scope=mcp.access&client_id=mcp-client&client_secret=" +
      auth::form_encode(client.secret);
  req.prepare_payload();
  for (auto _ : state) {
    auto r = as.handle(req);
    if (r->result() != auth::http::status::ok) state.SkipWithError(r->body().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  std::filesystem::remove_all(dir);
}

// An AuthServer with sign-in: the test-only HTTP Basic login (its argon2id
// check cached after the first) and one public client with a loopback
// redirect. State lives in a temporary data directory on the machine's disk:
// codes are created and taken (rename), refresh families are written with
// fsync (durable), as in production.
struct SignInBench {
  std::string dir;
  std::unique_ptr<auth::AuthServer> as;
  std::string basic;
  // RFC 7636 appendix B.
  static constexpr const char* kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  static constexpr const char* kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

  SignInBench() {
    dir = (std::filesystem::temp_directory_path() / "bastion-signin-bench-XXXXXX").string();
    ::mkdtemp(dir.data());
    auth::Options o;
    o.issuer = kIss;
    o.data_dir = std::filesystem::path(dir) / "auth";
    auth::ClientConfig c;
    c.id = "app";
    c.token_endpoint_auth_method = "none";
    c.redirect_uris = {"http://127.0.0.1/cb"};
    c.grant_types = {"authorization_code", "refresh_token"};
    o.clients = {c};
    o.signin.test_login = {auth::TestLoginUser{"alice", auth::hash_secret("pw"), {"mcp.access"}}};
    as = std::make_unique<auth::AuthServer>(o);
    basic = "Basic YWxpY2U6cHc=";  // alice:pw
  }
  ~SignInBench() { std::filesystem::remove_all(dir); }

  // GET /oauth2/authorize as alice: the code from the 302, or "".
  std::string code() {
    auth::Request req{auth::http::verb::get,
                      std::string("/oauth2/authorize?response_type=code&client_id=app&redirect_uri="
                                  "http%3A%2F%2F127.0.0.1%3A8123%2Fcb&scope=mcp.access%20offline_"
                                  "access&state=s&code_challenge_method=S256&code_challenge=") +
                          kChallenge,
                      11};
    req.set(auth::http::field::authorization, basic);
    auto r = as->handle(req);
    if (!r || r->result() != auth::http::status::found) return "";
    std::string loc(r->at(auth::http::field::location));
    auto i = loc.find("code=");
    if (i == std::string::npos) return "";
    return loc.substr(i + 5, loc.find('&', i) - i - 5);
  }
  auth::Response token(const std::string& form) {
    auth::Request req{auth::http::verb::post, "/oauth2/token", 11};
    req.set(auth::http::field::content_type, "application/x-www-form-urlencoded");
    req.body() = form;
    req.prepare_payload();
    return *as->handle(req);
  }
  std::string redeem_form(const std::string& code) {
    return "grant_type=authorization_code&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A8123%"
           "2Fcb&code_verifier=" +
           std::string(kVerifier) + "&code=" + code;
  }
};

std::string json_field(const std::string& body, const char* key) {
  auto v = boost::json::parse(body);
  auto* f = v.as_object().if_contains(key);
  return f && f->is_string() ? std::string(f->get_string()) : std::string();
}

// POST /oauth2/token grant_type=authorization_code: take the one-time code,
// check client, redirect URI and PKCE, create the refresh family (fsync),
// sign, record the jti in the family (fsync). Codes are made outside the
// timed region.
void BM_TokenEndpointAuthorizationCode(benchmark::State& state) {
  SignInBench b;
  for (auto _ : state) {
    state.PauseTiming();
    std::string form = b.redeem_form(b.code());
    state.ResumeTiming();
    auto r = b.token(form);
    if (r.result() != auth::http::status::ok) state.SkipWithError(r.body().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// POST /oauth2/token grant_type=refresh_token: rotate within the family
// (read-modify-write under flock, fsync), sign, record the jti (fsync).
void BM_TokenEndpointRefresh(benchmark::State& state) {
  SignInBench b;
  auto first = b.token(b.redeem_form(b.code()));
  std::string rt = json_field(first.body(), "refresh_token");
  for (auto _ : state) {
    auto r = b.token("grant_type=refresh_token&client_id=app&refresh_token=" + rt);
    if (r.result() != auth::http::status::ok) {
      state.SkipWithError(r.body().c_str());
      break;
    }
    rt = json_field(r.body(), "refresh_token");
  }
  state.SetItemsProcessed(state.iterations());
}

// A whole sign-in as the server sees it: GET /oauth2/authorize (client and
// redirect checks, pending record, the login step, code record) then the
// code redemption.
void BM_SignInRound(benchmark::State& state) {
  SignInBench b;
  for (auto _ : state) {
    auto r = b.token(b.redeem_form(b.code()));
    if (r.result() != auth::http::status::ok) state.SkipWithError(r.body().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// What a cold (uncached) client authentication costs.
void BM_Argon2idVerify(benchmark::State& state) {
  std::string h = auth::hash_secret("correct horse battery staple");
  for (auto _ : state)
    benchmark::DoNotOptimize(auth::verify_secret(h, "correct horse battery staple"));
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK_CAPTURE(BM_Issue, ES256, auth::Alg::kES256);
BENCHMARK_CAPTURE(BM_Issue, RS256, auth::Alg::kRS256);
BENCHMARK_CAPTURE(BM_Issue, EdDSA, auth::Alg::kEdDSA);
BENCHMARK_CAPTURE(BM_Issue, HS256, auth::Alg::kHS256);
BENCHMARK_CAPTURE(BM_Validate, ES256, auth::Alg::kES256);
BENCHMARK_CAPTURE(BM_Validate, RS256, auth::Alg::kRS256);
BENCHMARK_CAPTURE(BM_Validate, EdDSA, auth::Alg::kEdDSA);
BENCHMARK_CAPTURE(BM_Validate, HS256, auth::Alg::kHS256);
BENCHMARK(BM_TokenEndpoint);
BENCHMARK(BM_TokenEndpointAuthorizationCode)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_TokenEndpointRefresh)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_SignInRound)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Argon2idVerify)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
