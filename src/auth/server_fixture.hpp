// Test-only: an AuthServer on a temp directory with a fake clock and three
// clients, driven through handle() without sockets. Shared by the endpoint,
// bearer and token client tests.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "auth/server.hpp"
#include "auth/test_util.hpp"

namespace bastion::auth::testing {

// Hashing argon2id is slow on purpose: make the test clients once.
inline const NewClient& client_a() {
  static const NewClient c = create_client("mcp-client", {"mcp.access", "extra"}).value();
  return c;
}
inline const NewClient& client_b() {
  static const NewClient c = create_client("narrow", {"mcp:server:fs", "mcp:tool:git/log"}).value();
  return c;
}

inline std::string basic(std::string_view id, std::string_view secret) {
  std::string raw = form_encode(id) + ":" + form_encode(secret);
  std::string s = b64url_encode(raw);
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s += '=';
  return "Basic " + s;
}

struct Server {
  TempDir tmp;
  FakeClock clock;
  std::unique_ptr<AuthServer> as;

  explicit Server(std::string alg = "ES256", bool require_auth = true,
                  const std::function<void(Options&)>& tweak = {}) {
    Options o;
    o.issuer = "http://127.0.0.1:8080";
    o.algorithm = alg;
    o.data_dir = tmp.path() / "auth";
    o.require_auth = require_auth;
    o.clients = {ClientConfig{"mcp-client", client_a().secret_hash, client_a().scopes, {}},
                 ClientConfig{"narrow", client_b().secret_hash, client_b().scopes, {}},
                 ClientConfig{"nogrant", client_a().secret_hash, {"mcp.access"}, {}, {}}};
    if (tweak) tweak(o);
    as = std::make_unique<AuthServer>(o, clock);
  }
  void reload() {
    Options o = as->options();
    as.reset();
    as = std::make_unique<AuthServer>(o, clock);
  }

  Response post(std::string_view target, std::string body,
                std::string content_type = "application/x-www-form-urlencoded",
                std::string authorization = {}, std::string_view peer = "127.0.0.1") {
    Request req{http::verb::post, target, 11};
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    req.body() = std::move(body);
    req.prepare_payload();
    auto r = as->handle(req, Caller{boost::asio::ip::make_address(peer)});
    EXPECT_TRUE(r);
    return *r;
  }
  Response get(std::string_view target, std::string authorization = {}) {
    Request req{http::verb::get, target, 11};
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    auto r = as->handle(req);
    EXPECT_TRUE(r) << target;
    return r ? *r : Response{};
  }
  std::string token(std::string scope = "mcp.access") {
    auto r = post("/oauth2/token", "grant_type=client_credentials&scope=" + form_encode(scope),
                  "application/x-www-form-urlencoded", basic("mcp-client", client_a().secret));
    EXPECT_EQ(r.result(), http::status::ok) << r.body();
    return std::string(json::parse(r.body()).at("access_token").as_string());
  }
};

inline json::object body_of(const Response& r) { return json::parse(r.body()).as_object(); }

inline void expect_error(const Response& r, http::status status, std::string_view code) {
  EXPECT_EQ(r.result(), status) << r.body();
  auto b = body_of(r);
  EXPECT_EQ(b.at("error").as_string(), code) << r.body();
  EXPECT_TRUE(b.contains("error_description"));
  EXPECT_EQ(r[http::field::cache_control], "no-store");
  EXPECT_EQ(r[http::field::pragma], "no-cache");
}

}  // namespace bastion::auth::testing
