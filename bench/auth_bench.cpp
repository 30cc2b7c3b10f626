// Tokens per second per core: RFC 9068 access-token issuance and full
// validation (kid lookup, signature, typ/iss/aud/exp/iat, revocation check)
// for each signing algorithm, plus the whole token endpoint and argon2id.
// Single-threaded: items_per_second is the per-core figure.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "auth/clients.hpp"
#include "auth/jwt.hpp"
#include "auth/server.hpp"

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
BENCHMARK(BM_Argon2idVerify)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
