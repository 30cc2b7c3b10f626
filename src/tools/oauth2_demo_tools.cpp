#include "tools/oauth2_demo_tools.hpp"

#include <sys/stat.h>

#include <boost/url/parse.hpp>
#include <cstdio>

#include "auth/jws.hpp"
#include "auth/scopes.hpp"

namespace bastion::tools {

namespace json = boost::json;
using auth::AccessToken;
using auth::alg_name;
using auth::AuthServer;
using auth::join_scopes;
using auth::jws_peek_header;
using auth::kScopeAll;
using auth::new_jti;
using auth::Options;
using auth::Result;
using auth::scopes_cover;
using auth::split_scopes;
using auth::system_now;
using auth::well_formed_hash;

namespace {

json::object tool_def(std::string_view name, std::string_view title, std::string_view description,
                      json::object properties, bool read_only) {
  return json::object{
      {"name", name},
      {"title", title},
      {"description", description},
      {"inputSchema", json::object{{"type", "object"},
                                   {"properties", std::move(properties)},
                                   {"additionalProperties", false}}},
      {"annotations",
       json::object{
           {"readOnlyHint", read_only}, {"destructiveHint", false}, {"openWorldHint", false}}},
  };
}

std::string mode_string(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

json::array kid_list(const AuthServer& as) {
  json::array out;
  for (const auto& k : as.keys().keys())
    out.push_back(json::object{{"kid", k.key->kid()},
                               {"alg", alg_name(k.key->alg())},
                               {"created", k.created},
                               {"retired", k.retired ? json::value(k.retired) : nullptr}});
  return out;
}

}  // namespace

server::SyncTool get_oauth2_server_status_tool(std::shared_ptr<auth::AuthServer> as) {
  server::SyncTool t;
  t.definition = tool_def("get_oauth2_server_status", "OAuth2 server status",
                          "Live state of Bastion's OAuth2 authorization server: issuer, signing "
                          "algorithm, active key, published keys, clients and token counters.",
                          {}, true);
  t.call = [as](const json::object&, const protocol::Principal&) -> protocol::Outcome {
    auto stats = as->stats();
    auto active = as->keys().active();
    json::object out{
        {"status", "running"},
        {"issuer", as->options().issuer},
        {"audience", as->options().effective_audience()},
        {"algorithms", json::array{json::string(alg_name(as->keys().alg()))}},
        {"active_kid", active ? json::value(active->kid()) : nullptr},
        {"key_count", as->keys().keys().size()},
        {"jwks_key_count", as->keys().jwks().at("keys").as_array().size()},
        {"keys", kid_list(*as)},
        {"client_count", as->clients()->size()},
        {"tokens_issued", stats.tokens_issued},
        {"tokens_revoked", stats.tokens_revoked},
        {"revocation_list_size", as->revocations().size()},
        {"token_endpoint_errors", stats.token_errors},
        {"resource_auth_failures", stats.auth_failures},
        {"require_auth", as->options().require_auth},
        {"token_lifetime_seconds", as->options().token_lifetime.count()},
        {"endpoints", json::object{{"token", as->token_endpoint()},
                                   {"jwks", as->jwks_uri()},
                                   {"metadata", as->options().issuer +
                                                    "/.well-known/oauth-authorization-server"},
                                   {"protected_resource_metadata", as->resource_metadata_url()}}},
    };
    return server::structured_result(std::move(out));
  };
  return t;
}

server::SyncTool create_oauth2_test_token_tool(std::shared_ptr<auth::AuthServer> as) {
  server::SyncTool t;
  t.definition = tool_def(
      "create_oauth2_test_token", "Create an OAuth2 test token",
      "Issues a real, short-lived access token signed by this server for a configured client. "
      "Authenticated callers can only mint tokens for their own client within their own scopes.",
      json::object{
          {"client_id", json::object{{"type", "string"},
                                     {"description",
                                      "Configured client (default: the caller's "
                                      "client, or the first configured one)"}}},
          {"scope",
           json::object{{"type", "string"},
                        {"description", "Space-separated scopes (default: the client's)"}}},
          {"lifetime_seconds",
           json::object{{"type", "integer"},
                        {"minimum", 1},
                        {"description", "Default 300, capped at the configured token lifetime"}}},
      },
      false);
  t.call = [as](const json::object& args, const protocol::Principal& caller) -> protocol::Outcome {
    std::string client_id, scope;
    std::int64_t lifetime = 300;
    if (auto* v = args.if_contains("client_id")) {
      if (!v->is_string()) return protocol::invalid_params("client_id must be a string");
      client_id = std::string(v->get_string());
    }
    if (auto* v = args.if_contains("scope")) {
      if (!v->is_string()) return protocol::invalid_params("scope must be a string");
      scope = std::string(v->get_string());
    }
    if (auto* v = args.if_contains("lifetime_seconds")) {
      if (!v->is_int64() || v->get_int64() < 1)
        return protocol::invalid_params("lifetime_seconds must be a positive integer");
      lifetime = v->get_int64();
    }
    if (caller.authenticated) {
      if (client_id.empty()) client_id = caller.client_id;
      if (client_id != caller.client_id)
        return server::text_result(
            "You may only create test tokens for your own client (" + caller.client_id + ").",
            true);
      std::vector<std::string> wanted = scope.empty() ? caller.scopes : split_scopes(scope);
      for (const auto& s : wanted)
        if (!scopes_cover(caller.scopes, s) && !caller.has_scope(s))
          return server::text_result("Scope '" + s + "' exceeds your token's scopes.", true);
      scope = join_scopes(wanted);
    } else if (client_id.empty()) {
      if (as->clients()->size() == 0)
        return server::text_result("No OAuth2 clients are configured (bastion client add NAME).",
                                   true);
      client_id = as->clients()->all().front().id;
    }
    auto issued = as->issue(client_id, scope, std::chrono::seconds(lifetime));
    if (!issued) return server::text_result("Cannot issue: " + issued.reason(), true);
    const AccessToken& c = issued->claims;
    json::array aud;
    for (const auto& a : c.aud) aud.emplace_back(a);
    json::object out{
        {"access_token", issued->access_token},
        {"token_type", "Bearer"},
        {"expires_in", c.exp - c.iat},
        {"scope", c.scope_string()},
        {"header", jws_peek_header(issued->access_token).value()},
        {"claims", json::object{{"iss", c.iss},
                                {"sub", c.sub},
                                {"aud", std::move(aud)},
                                {"client_id", c.client_id},
                                {"scope", c.scope_string()},
                                {"iat", c.iat},
                                {"exp", c.exp},
                                {"jti", c.jti}}},
        {"usage", "Authorization: Bearer <access_token>"},
    };
    return server::structured_result(std::move(out));
  };
  return t;
}

server::SyncTool get_oauth2_flow_guide_tool(std::shared_ptr<auth::AuthServer> as) {
  server::SyncTool t;
  t.definition = tool_def("get_oauth2_flow_guide", "OAuth2 client-credentials guide",
                          "Step-by-step client-credentials flow against this server, with its "
                          "real endpoints and ready-to-run curl commands.",
                          {}, true);
  t.call = [as](const json::object&, const protocol::Principal& caller) -> protocol::Outcome {
    const Options& o = as->options();
    std::string client = caller.authenticated    ? caller.client_id
                         : as->clients()->size() ? as->clients()->all().front().id
                                                 : std::string("CLIENT_ID");
    std::string base = o.issuer;
    std::string text =
        "OAuth2 client-credentials flow for " + base +
        "\n\n"
        "1. Register a client (once). The secret is shown once; only its argon2id hash goes "
        "into the config:\n"
        "   bastion client add " +
        client +
        " --scopes mcp.access\n\n"
        "2. Discover the server (RFC 8414 / RFC 9728):\n"
        "   curl " +
        base +
        "/.well-known/oauth-authorization-server\n"
        "   curl " +
        as->resource_metadata_url() +
        "\n\n"
        "3. Get a token (client_secret_basic; client_secret_post also works):\n"
        "   curl -u '" +
        client + ":SECRET' -d grant_type=client_credentials -d scope=mcp.access " +
        as->token_endpoint() +
        "\n"
        "   -> {\"access_token\":\"...\",\"token_type\":\"Bearer\",\"expires_in\":" +
        std::to_string(o.token_lifetime.count()) +
        ",\"scope\":\"mcp.access\"}\n\n"
        "4. Call the protected resources with the token:\n"
        "   curl -H 'Authorization: Bearer TOKEN' " +
        base +
        "/hello\n"
        "   MCP endpoint: " +
        o.effective_audience() +
        " (same header)\n\n"
        "5. Inspect or revoke it (client-authenticated):\n"
        "   curl -u '" +
        client + ":SECRET' -d token=TOKEN " + base +
        "/oauth2/introspect\n"
        "   curl -u '" +
        client + ":SECRET' -d token=TOKEN " + base +
        "/oauth2/revoke\n\n"
        "Tokens are " +
        std::string(alg_name(as->keys().alg())) +
        "-signed JWTs (RFC 9068, typ at+jwt); verify them with the keys at " + as->jwks_uri() +
        ". Scopes: mcp.access (everything), mcp:server:<name>, mcp:tool:<server>/<tool>.";
    json::object out{{"issuer", base},
                     {"token_endpoint", as->token_endpoint()},
                     {"jwks_uri", as->jwks_uri()},
                     {"resource", o.effective_audience()},
                     {"guide", text}};
    auto r = server::text_result(text);
    r["structuredContent"] = std::move(out);
    return r;
  };
  return t;
}

server::SyncTool validate_oauth2_setup_tool(std::shared_ptr<auth::AuthServer> as) {
  server::SyncTool t;
  t.definition = tool_def("validate_oauth2_setup", "Validate the OAuth2 setup",
                          "Runs real checks on the authorization server: data directory and key "
                          "file permissions, JWKS, a sign+verify round trip, client secret "
                          "hashes and the issuer URL. Each check passes, warns or fails with a "
                          "reason.",
                          {}, true);
  t.call = [as](const json::object&, const protocol::Principal&) -> protocol::Outcome {
    json::array checks;
    int failed = 0, warned = 0;
    auto add = [&](std::string name, std::string status, std::string reason) {
      failed += status == "fail";
      warned += status == "warn";
      checks.push_back(json::object{
          {"check", std::move(name)}, {"status", status}, {"reason", std::move(reason)}});
    };
    const Options& o = as->options();

    struct stat st {};
    if (::stat(o.data_dir.c_str(), &st) != 0)
      add("data_dir", "fail", o.data_dir.string() + " does not exist");
    else if (st.st_mode & 077)
      add("data_dir", "fail", o.data_dir.string() + " has mode " + mode_string(st.st_mode));
    else
      add("data_dir", "pass",
          o.data_dir.string() + " is private (" + mode_string(st.st_mode) + ")");

    auto keys = as->keys().keys();
    if (keys.empty()) add("key_files", "fail", "no keys loaded");
    for (const auto& k : keys) {
      std::string name = "key_file " + k.key->kid();
      if (::stat(k.file.c_str(), &st) != 0)
        add(name, "fail", k.file.string() + " is missing");
      else if ((st.st_mode & 0777) != 0600)
        add(name, "fail", k.file.string() + " has mode " + mode_string(st.st_mode) + ", want 0600");
      else
        add(name, "pass", k.file.string() + " exists with mode 0600");
    }

    auto active = as->keys().active();
    if (!active || !active->has_private())
      add("active_key", "fail", "no active signing key with a private part");
    else
      add("active_key", "pass",
          active->kid() + " (" + std::string(alg_name(active->alg())) + ", " +
              std::to_string(active->bits()) + " bits)");

    std::size_t published = as->keys().jwks().at("keys").as_array().size();
    if (active && active->symmetric())
      add("jwks", "warn",
          "HS256 keys are shared secrets and never published; only this server can verify its "
          "tokens (prefer ES256 or EdDSA)");
    else if (published == 0)
      add("jwks", "fail", "JWKS is empty");
    else
      add("jwks", "pass", std::to_string(published) + " public key(s) published");

    // The round trip goes through the same admission as any token, so it
    // is made for a configured client, dated after its current secret.
    auto registry = as->clients();
    if (active && registry->size() == 0) {
      add("sign_verify", "warn", "no configured client to sign a test token for");
    } else if (active) {
      const auto& client = registry->all().front();
      AccessToken c;
      c.iss = o.issuer;
      c.sub = c.client_id = client.id;
      c.aud = {o.effective_audience()};
      if (client.scopes.empty())
        c.scopes = {std::string(kScopeAll)};
      else
        c.scopes = client.scopes;
      c.iat = std::max(system_now(), registry->not_before(client.id) + 1);
      c.exp = c.iat + 60;
      c.jti = new_jti();
      auto tok = issue_access_token(*active, c);
      auto v = tok ? as->validate(tok.value()) : Result<AccessToken>(tok.error());
      if (!v)
        add("sign_verify", "fail", "round trip failed: " + v.reason());
      else
        add("sign_verify", "pass", "signed and verified a token with " + active->kid());
      // And a tampered copy must fail.
      if (tok) {
        std::string bad = tok.value();
        bad[bad.find('.') + 1] ^= 1;
        if (as->validate(bad))
          add("tamper_check", "fail", "a tampered token was accepted");
        else
          add("tamper_check", "pass", "tampered token rejected");
      }
    }

    if (as->clients()->size() == 0)
      add("clients", "warn", "no clients configured; add one with `bastion client add NAME`");
    for (const auto& c : as->clients()->all()) {
      if (!well_formed_hash(c.secret_hash))
        add("client " + c.id, "fail", "secret is not stored as an argon2id hash");
      else if (c.scopes.empty())
        add("client " + c.id, "warn", "has no scopes, so it cannot obtain tokens");
      else
        add("client " + c.id, "pass", "argon2id-hashed secret, scopes: " + join_scopes(c.scopes));
    }

    auto u = boost::urls::parse_absolute_uri(o.issuer);
    if (!u) {
      add("issuer", "fail", "'" + o.issuer + "' is not an absolute URL");
    } else {
      std::string host(u->host());
      bool loopback = host == "127.0.0.1" || host == "localhost" || host == "[::1]";
      if (u->scheme() == "https")
        add("issuer", "pass", o.issuer + " uses https");
      else if (loopback)
        add("issuer", "pass", o.issuer + " is plain http on loopback (fine for local use)");
      else
        add("issuer", "warn", o.issuer + " is plain http on a non-loopback host; use https");
    }
    if (o.token_lifetime.count() > 86400)
      add("token_lifetime", "warn", "tokens live longer than a day");
    else
      add("token_lifetime", "pass", std::to_string(o.token_lifetime.count()) + " s");
    add("require_auth", o.require_auth ? "pass" : "warn",
        o.require_auth ? "/mcp requires a bearer token" : "/mcp is open to anonymous callers");

    json::object out{{"valid", failed == 0},
                     {"failed", failed},
                     {"warnings", warned},
                     {"checks", std::move(checks)}};
    return server::structured_result(std::move(out));
  };
  return t;
}

std::vector<server::SyncTool> oauth2_tools(std::shared_ptr<auth::AuthServer> as) {
  return {get_oauth2_server_status_tool(as), create_oauth2_test_token_tool(as),
          get_oauth2_flow_guide_tool(as), validate_oauth2_setup_tool(as)};
}

}  // namespace bastion::tools
