// `bastion client add` and `bastion token`.
#include <cstdlib>
#include <iostream>

#include "auth/clients.hpp"
#include "auth/token_client.hpp"
#include "cli/commands.hpp"

namespace bastion::cli {

namespace {

struct ClientAdd {
  std::string name;
  std::vector<std::string> scopes{"mcp.access"};
  bool json = false;
};

int client_add(const ClientAdd& o) {
  auto c = auth::create_client(o.name, o.scopes);
  if (!c) {
    std::cerr << "bastion: " << c.reason() << "\n";
    return 2;
  }
  auto entry = c->config_entry();
  if (o.json) {
    auto out = entry;
    out["secret"] = c->secret;
    std::cout << boost::json::serialize(out) << "\n";
    return 0;
  }
  std::string scopes;
  for (const auto& s : c->scopes) scopes += (scopes.empty() ? "" : ", ") + s;
  std::cout << "client_id:     " << c->client_id << "\n"
            << "client_secret: " << c->secret << "\n"
            << "\nThe secret is shown only now; Bastion keeps only its argon2id hash.\n"
            << "Add this entry to auth.clients in your configuration:\n\n"
            << "    - id: " << c->client_id << "\n"
            << "      secret_hash: '" << c->secret_hash << "'\n"
            << "      scopes: [" << scopes << "]\n";
  return 0;
}

struct TokenCmd {
  std::string url = "http://127.0.0.1:8080";
  std::string client_id;
  std::string client_secret;
  std::string scope;
  bool json = false;
};

int token(TokenCmd o) {
  if (o.client_id.empty()) {
    if (const char* v = std::getenv("BASTION_CLIENT_ID")) o.client_id = v;
  }
  if (o.client_secret == "-") {
    o.client_secret = read_stdin_secret();
  } else if (o.client_secret.empty()) {
    if (const char* v = std::getenv("BASTION_CLIENT_SECRET")) o.client_secret = v;
  }
  if (o.client_id.empty() || o.client_secret.empty()) {
    std::cerr << "bastion: token needs --client-id and --client-secret (or BASTION_CLIENT_ID and "
                 "BASTION_CLIENT_SECRET; --client-secret - reads it from stdin)\n";
    return 2;
  }
  while (!o.url.empty() && o.url.back() == '/') o.url.pop_back();
  auto r = auth::fetch_token(o.url, o.client_id, o.client_secret, o.scope);
  if (!r) {
    std::cerr << "bastion: " << r.reason() << "\n";
    return 1;
  }
  if (o.json) {
    std::cout << boost::json::serialize(boost::json::object{{"access_token", r->access_token},
                                                            {"token_type", r->token_type},
                                                            {"expires_in", r->expires_in},
                                                            {"scope", r->scope}})
              << "\n";
  } else {
    std::cout << r->access_token << "\n";
  }
  return 0;
}

}  // namespace

std::vector<Command> add_auth_commands(CLI::App& cli, Common& /*common*/) {
  std::vector<Command> out;
  auto* client = cli.add_subcommand("client", "Manage OAuth2 clients");
  client->require_subcommand(1);
  auto add_opts = std::make_shared<ClientAdd>();
  auto* add = client->add_subcommand(
      "add", "Create a client: prints its secret once and the entry for auth.clients");
  add->add_option("name", add_opts->name, "client_id (letters, digits, '.', '_', '-')")->required();
  add->add_option("--scopes", add_opts->scopes, "Scopes the client may obtain")
      ->delimiter(',')
      ->capture_default_str();
  add->add_flag("--json", add_opts->json,
                "Print one JSON object (id, secret, secret_hash, scopes)");
  out.push_back({add, [add_opts] { return client_add(*add_opts); }});

  auto tok = std::make_shared<TokenCmd>();
  auto* t = cli.add_subcommand("token", "Fetch an access token from a running Bastion");
  t->add_option("--url", tok->url, "Issuer base URL")->capture_default_str();
  t->add_option("--client-id", tok->client_id, "client_id (default: $BASTION_CLIENT_ID)");
  t->add_option("--client-secret", tok->client_secret,
                "client secret; '-' reads it from stdin (default: $BASTION_CLIENT_SECRET)");
  t->add_option("--scope", tok->scope, "Space-separated scopes to request");
  t->add_flag("--json", tok->json, "Print the whole token response as JSON");
  out.push_back({t, [tok] { return token(*tok); }});
  return out;
}

std::string read_stdin_secret() {
  std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

}  // namespace bastion::cli
