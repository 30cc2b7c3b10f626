// `bastion client add|list|rm` and `bastion token`.
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "app/audit_config.hpp"
#include "app/auth_config.hpp"
#include "audit/log.hpp"
#include "auth/clients.hpp"
#include "auth/managed_clients.hpp"
#include "auth/options.hpp"
#include "auth/revocation.hpp"
#include "auth/signin.hpp"
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

// The configuration's auth section as the server reads it (data_dir defaults
// to <data_dir>/auth, as App does), or nullopt when there is none.
struct AuthSection {
  std::optional<auth::Options> options;
  std::filesystem::path dir;
};

AuthSection read_auth_section(const Common& common) {
  auto opts = app::load_options(common.config_path, common.overrides);
  AuthSection out;
  out.dir = std::filesystem::path(opts.data_dir) / "auth";
  auto section = app::read_auth_section(*opts.document, opts.data_dir, app::SignInPages::kSkip);
  if (!section) return out;
  // The issuer does not matter for listing and removing clients.
  if (section->options.issuer.empty()) section->options.issuer = "http://127.0.0.1";
  out.options = std::move(section->options);
  out.dir = out.options->data_dir;
  return out;
}

// The registered clients and refresh families in `dir`, opened the way the
// server opens them; revocations go to the file the server watches.
struct GrantStore {
  explicit GrantStore(const AuthSection& a)
      : revoked(a.dir / "revoked.json",
                a.options ? a.options->clock_skew : std::chrono::seconds(60)),
        signin(
            [&] {
              auth::SignInOptions so;
              so.issuer = a.options ? a.options->issuer : "http://127.0.0.1";
              so.resources = {so.issuer};
              so.data_dir = a.dir;
              return so;
            }(),
            [this] {
              auth::SignIn::Hooks h;
              h.revoke_access = [this](const std::string& jti, std::int64_t exp) {
                revoked.revoke(jti, exp);
              };
              return h;
            }()) {}
  auth::RevocationList revoked;
  auth::SignIn signin;
};

std::string when(std::int64_t t) {
  char buf[32];
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%MZ", &tm);
  return buf;
}

std::string_view sv(const boost::json::value& v) {
  return v.is_string() ? std::string_view(v.get_string()) : std::string_view();
}

int client_list(const Common& common, bool json) {
  AuthSection a = read_auth_section(common);
  boost::json::array rows;
  if (a.options)
    for (const auto& c : a.options->clients) {
      boost::json::array scopes;
      for (const auto& s : c.scopes) scopes.emplace_back(s);
      boost::json::array uris;
      for (const auto& u : c.redirect_uris) uris.emplace_back(u);
      rows.push_back(boost::json::object{{"client_id", c.id},
                                         {"kind", "configured"},
                                         {"client_name", c.client_name},
                                         {"redirect_uris", std::move(uris)},
                                         {"scopes", std::move(scopes)}});
    }
  std::vector<auth::GrantInfo> grants;
  if (std::filesystem::exists(a.dir / "registered") || std::filesystem::exists(a.dir / "refresh")) {
    GrantStore store(a);
    grants = store.signin.grants();
    for (auto& r : store.signin.registered_clients()) {
      boost::json::object row{{"client_id", r["client_id"]}, {"kind", "registered"}};
      if (auto* m = r.if_contains("metadata"); m && m->is_object()) {
        const auto& md = m->get_object();
        for (const char* k : {"client_name", "redirect_uris", "token_endpoint_auth_method"})
          if (auto* v = md.if_contains(k)) row[k] = *v;
      }
      row["issued_at"] = r["issued_at"];
      row["registered_from"] = r["registered_from"];
      rows.push_back(std::move(row));
    }
  }
  for (auto& r : rows) {
    auto& o = r.as_object();
    std::int64_t n = 0;
    for (const auto& g : grants)
      if (!g.revoked && g.client_id == o["client_id"].as_string()) ++n;
    o["active_grants"] = n;
  }
  if (json) {
    std::cout << boost::json::serialize(rows) << "\n";
    return 0;
  }
  if (rows.empty()) {
    std::cout << "no clients (none configured in auth.clients, none registered)\n";
    return 0;
  }
  for (const auto& r : rows) {
    const auto& o = r.as_object();
    std::cout << sv(o.at("client_id")) << "  " << sv(o.at("kind"));
    if (auto* n = o.if_contains("client_name"); n && n->is_string() && !n->as_string().empty())
      std::cout << "  \"" << sv(*n) << "\"";
    if (auto* t = o.if_contains("issued_at"); t && t->is_int64())
      std::cout << "  registered " << when(t->as_int64());
    if (auto* f = o.if_contains("registered_from"); f && f->is_string())
      std::cout << " from " << sv(*f);
    std::cout << "  grants: " << o.at("active_grants").as_int64() << "\n";
    if (auto* u = o.if_contains("redirect_uris"); u && u->is_array())
      for (const auto& x : u->as_array())
        if (x.is_string()) std::cout << "    redirect " << sv(x) << "\n";
  }
  return 0;
}

int client_rm(const Common& common, const std::string& id) {
  AuthSection a = read_auth_section(common);
  if (a.options)
    for (const auto& c : a.options->clients)
      if (c.id == id) {
        std::cerr << "bastion: " << id
                  << " is configured in auth.clients: remove it from the configuration and "
                     "reload\n";
        return 2;
      }
  if (!std::filesystem::exists(a.dir / "registered")) {
    std::cerr << "bastion: no registered client " << id << " (nothing registered in "
              << a.dir.string() << ")\n";
    return 1;
  }
  GrantStore store(a);
  if (!store.signin.remove_registered_client(id)) {
    std::cerr << "bastion: no registered client " << id << " in " << a.dir.string() << "\n";
    return 1;
  }
  std::cout << "removed " << id
            << "; its refresh tokens and the access tokens they issued are revoked\n";
  return 0;
}

// Revokes any client id for good (auth/managed_clients.hpp): its token
// requests and every token it holds are refused, by a running server within
// a second. Audited before it is done, like the console's revoke.
int client_revoke(const Common& common, const std::string& id, const std::string& actor) {
  auto opts = app::load_options(common.config_path, common.overrides);
  std::unique_ptr<audit::AuditLog> log;
  if (auto ao = app::read_audit_options(*opts.document, opts.data_dir))
    log = std::make_unique<audit::AuditLog>(*ao);
  AuthSection a = read_auth_section(common);
  auth::ManagedClients managed(a.dir / "managed_clients");
  std::string who = actor;
  if (who.empty()) {
    const char* u = std::getenv("USER");
    who = std::string("cli:") + (u ? u : "unknown");
  }
  if (!managed.revoke(id, who)) {
    std::cerr << "bastion: could not record the revocation in " << a.dir.string() << "\n";
    return 1;
  }
  bool registered = false;
  if (std::filesystem::exists(a.dir / "registered")) {
    GrantStore store(a);
    registered = store.signin.remove_registered_client(id);
  }
  if (log)
    log->append(boost::json::object{{"event_type", "client_revoked"},
                                    {"client_id", id},
                                    {"actor", who},
                                    {"registered_client_removed", registered}});
  std::cout << "revoked " << id << ": its token requests and the tokens it holds are refused"
            << (registered ? "; the registered client is removed" : "") << "\n";
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

std::vector<Command> add_auth_commands(CLI::App& cli, Common& common) {
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

  auto list_json = std::make_shared<bool>(false);
  auto* list = client->add_subcommand(
      "list", "List clients: configured ones and those registered by DCR (in the data directory)");
  add_config_options(list, common);
  list->add_flag("--json", *list_json, "Print a JSON array");
  out.push_back({list, [&common, list_json] { return client_list(common, *list_json); }});

  auto rm_id = std::make_shared<std::string>();
  auto* rm = client->add_subcommand(
      "rm", "Remove a registered (DCR) client and revoke every grant it holds");
  add_config_options(rm, common);
  rm->add_option("client_id", *rm_id, "the registered client's client_id")->required();
  out.push_back({rm, [&common, rm_id] { return client_rm(common, *rm_id); }});

  auto rv_id = std::make_shared<std::string>();
  auto rv_actor = std::make_shared<std::string>();
  auto* rv = client->add_subcommand(
      "revoke",
      "Revoke a client for good (configured, created in the console, or registered): its "
      "token requests and every token it already holds are refused");
  add_config_options(rv, common);
  rv->add_option("client_id", *rv_id, "the client_id")->required();
  rv->add_option("--actor", *rv_actor, "Who revokes, for the audit log (default: cli:$USER)");
  out.push_back(
      {rv, [&common, rv_id, rv_actor] { return client_revoke(common, *rv_id, *rv_actor); }});

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
