// App: the composition root. It builds every module from the options in
// dependency order (security, PII, audit, gateway, tools, transport, auth,
// console), wires their hooks together, runs the I/O threads and the signal
// set, reloads on SIGHUP and tears everything down in reverse.
// Over 500 lines for a reason: like nsjail's contain.cc it only composes;
// each step is a few lines of wiring that need the members built before it.
// Reading the configuration is elsewhere (options, auth_config,
// audit_config), and so is every mechanism it wires.
#include "app/app.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <functional>
#include <thread>

#include "app/audit_config.hpp"
#include "app/auth_config.hpp"
#include "app/heap_release.hpp"
#include "audit/filter.hpp"
#include "auth/scopes.hpp"
#include "config/config.hpp"
#include "console/console.hpp"
#include "gateway/options.hpp"
#include "login/interaction.hpp"
#include "metrics/metrics.hpp"
#include "pii/filter.hpp"
#include "pii/normalize.hpp"
#include "protocol/log_fields.hpp"
#include "protocol/sealed_state.hpp"
#include "sandbox/spawn.hpp"
#include "security/keyring.hpp"
#include "security/redact.hpp"
#include "server/builtin_backend.hpp"
#include "storage/private_file.hpp"
#include "tools/audit_report_tools.hpp"
#include "tools/oauth2_demo_tools.hpp"
#include "tools/pii_demo_tools.hpp"
#include "tools/testkit.hpp"
#include "transport/http_server.hpp"
#include "transport/stdio_server.hpp"

namespace bastion::app {

namespace asio = boost::asio;

namespace {

// %* : the message as the inside of a JSON string (quotes, backslashes and
// control characters escaped), so `log.format: json` lines always parse.
class JsonPayload : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string s =
        boost::json::serialize(boost::json::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(s.data() + 1, s.data() + s.size() - 1);  // without the quotes
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonPayload>();
  }
};

// %F : this thread's LogFields, as more members of the JSON object
// (`,"k":v`) or, with `text`, as ` k=v` pairs (strings unquoted).
class FieldsFlag : public spdlog::custom_flag_formatter {
 public:
  explicit FieldsFlag(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const auto* fields = protocol::LogFields::current();
    if (!fields) return;
    for (const auto& [k, v] : *fields) {
      std::string key = boost::json::serialize(boost::json::string_view(k));
      std::string val =
          v.is_string() && !json_ ? std::string(v.get_string()) : boost::json::serialize(v);
      std::string part = json_ ? "," + key + ":" + val : " " + std::string(k) + "=" + val;
      dest.append(part.data(), part.data() + part.size());
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<FieldsFlag>(json_);
  }

 private:
  bool json_;
};

}  // namespace

void setup_logging(const LogOptions& o) {
  // Every line passes the redactor, so an upstream's secret never reaches the log.
  auto logger = std::make_shared<spdlog::logger>(
      "bastion", security::redacting_sink(std::make_shared<spdlog::sinks::stderr_sink_mt>()));
  if (o.format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<JsonPayload>('*').add_flag<FieldsFlag>('F', true).set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","msg":"%*"%F})");
    logger->set_formatter(std::move(f));
  } else {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<FieldsFlag>('F', false).set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v%F");
    logger->set_formatter(std::move(f));
  }
  logger->set_level(spdlog::level::from_str(o.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

App::App(AppOptions o, Overrides ov) : opts_(std::move(o)), overrides_(std::move(ov)) { build(); }

namespace {

// An HTTP server's credentials (its headers, its URL's userinfo and query)
// are scrubbed from every log line, error and result from the moment the
// configuration is read, as a stdio server's secrets are once decrypted.
std::vector<gateway::UpstreamOptions> with_credentials_scrubbed(
    std::vector<gateway::UpstreamOptions> upstreams) {
  for (const auto& u : upstreams)
    for (auto& v : gateway::http_credentials(u)) security::Redactor::global().add(std::move(v));
  return upstreams;
}

}  // namespace

std::string App::reload() {
  std::lock_guard lk(reload_mu_);
  if (!opts_.config_path) {
    spdlog::info("SIGHUP: no configuration file to reload");
    return "no configuration file to reload";
  }
  try {
    auto next = load_options(opts_.config_path, overrides_);
    auto upstreams =
        with_credentials_scrubbed(gateway::read_upstreams(*next.document, protected_paths(next)));
    // Everything is checked before anything is applied.
    std::optional<auth::Options> next_auth;
    if (auth_)
      if (auto section = read_auth_section(*next.document, opts_.data_dir))
        next_auth = with_issuer(std::move(section->options));
    spdlog::set_level(spdlog::level::from_str(next.log.level));
    if (auth_) apply_auth(next_auth);
    if (gateway_) {
      auto r = gateway_->reload(std::move(upstreams));
      auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (auto& x : v) s += (s.empty() ? "" : ",") + x;
        return s.empty() ? std::string("-") : s;
      };
      spdlog::info("configuration reloaded: servers added {}, changed {}, removed {}, unchanged {}",
                   join(r.added), join(r.changed), join(r.removed), join(r.unchanged));
    }
    // Listener, HTTP and engine settings need a restart; sessions are kept.
    opts_.document = next.document;
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: configuration not reloaded, keeping the running one: {}", e.what());
    return e.what();
  }
  return {};
}

void App::apply_auth(const std::optional<auth::Options>& next) {
  if (!next) {
    spdlog::warn(
        "SIGHUP: the auth section is gone or not a mapping; OAuth2 keeps its running "
        "settings until a restart");
    return;
  }
  // Only the clients apply now; a change elsewhere needs a restart.
  const auth::Options& cur = auth_->options();
  std::vector<std::string> restart;
  auto differs = [&](bool d, const char* key) {
    if (d) restart.push_back(key);
  };
  differs(next->issuer != cur.issuer, "issuer");
  differs(next->effective_audience() != cur.effective_audience(), "audience");
  differs(next->algorithm != cur.algorithm, "algorithm");
  differs(next->token_lifetime != cur.token_lifetime, "token_lifetime");
  differs(next->require_auth != cur.require_auth, "require_auth");
  differs(next->data_dir != cur.data_dir, "data_dir");
  differs(next->external_issuers.size() != cur.external_issuers.size(), "external_issuers");
  differs(next->trusted_proxies != cur.trusted_proxies, "trusted_proxies");
  if (!restart.empty()) {
    std::string keys;
    for (const auto& k : restart) keys += (keys.empty() ? "" : ", ") + k;
    spdlog::warn("SIGHUP: auth settings other than clients take effect after a restart: {}", keys);
  }
  auto ch = auth_->replace_clients(next->clients);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s.empty() ? std::string("-") : s;
  };
  spdlog::info("auth clients reloaded: added {}, changed {}, removed {}, unchanged {}",
               join(ch.added), join(ch.changed), join(ch.removed), join(ch.unchanged));
  if (!ch.changed.empty() || !ch.removed.empty()) {
    // What already runs for a removed or narrowed client is held to the new
    // rules now, not at its next request: an idle session's notifications
    // and a listen included.
    auto r = engine_->recheck_callers(
        [this](const protocol::Principal& p) { return auth_->readmit(p); });
    spdlog::info("sessions of changed clients: {} closed, {} narrowed, {} listens ended", r.closed,
                 r.narrowed, r.listens_ended);
  }
  if (audit_ && (!ch.added.empty() || !ch.changed.empty() || !ch.removed.empty())) {
    auto arr = [](const std::vector<std::string>& v) {
      boost::json::array a;
      for (const auto& x : v) a.emplace_back(x);
      return a;
    };
    audit_->append(boost::json::object{{"event_type", "auth_clients_changed"},
                                       {"added", arr(ch.added)},
                                       {"changed", arr(ch.changed)},
                                       {"removed", arr(ch.removed)}});
  }
}

App::~App() {
  if (workers_) workers_->stop();  // serve() stops them; not when it threw
  // While io_ still exists (it is destroyed last): the calls still waiting
  // for their audit records get them, and their completions reach io_, not
  // a context already gone.
  if (audit_) audit_->stop_writer();
  // What the loops still hold goes while every loop exists: a gateway call
  // queued on io_ holds its outbox, whose timer is a worker's, and a
  // connection's frame on a worker holds objects of io_.
  io_.destroy_handlers();
  if (workers_) workers_->destroy_handlers();
}

void App::build() {
  // The data directory holds keys, secrets and the audit log: ours alone.
  std::error_code ec;
  if (opts_.check_only) {
    // nothing on disk
  } else if (!std::filesystem::exists(opts_.data_dir, ec)) {
    // 0700 from its mkdir, and so is every missing parent, whatever the
    // umask (a chmod after create_directories left the parents 0755, or
    // 0777 under umask 0, and the directory open until the chmod).
    storage::ensure_private_dir(opts_.data_dir);
  } else if ((std::filesystem::status(opts_.data_dir).permissions() &
              (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) !=
             std::filesystem::perms::none) {
    spdlog::warn("data directory {} is accessible by group/others: chmod 700 {}", opts_.data_dir,
                 opts_.data_dir);
  }
  engine_ = std::make_unique<server::Engine>(opts_.engine);
  // Modern requestState is sealed with the data directory's key, so every
  // replica sharing the directory can resume another's round trip.
  if (!opts_.check_only)
    engine_->set_state_sealer(protocol::StateSealer::from_key_file(
        std::filesystem::path(opts_.data_dir) / "mcp" / "request_state.key",
        opts_.request_state_ttl));
  const auto& doc = *opts_.document;

  build_security(doc);
  // Read (and checked) here, so check-config catches every mistake; the
  // server is built once the port is bound (attach_auth).
  if (auto section = read_auth_section(doc, opts_.data_dir)) {
    auth_options_ = std::move(section->options);
    login_ = std::move(section->login);
    access_ = std::move(section->access);
  }
  console_ = console::read_console_options(doc);
  if (console_.enabled && !login_)
    doc.fail("/console",
             "the console needs the sign-in pages: configure auth.login (and users with "
             "`bastion user add`)");
  // A sign-in started from a console page goes back to it.
  if (console_.enabled) login_->return_paths.push_back(console_.path);
  if (opts_.testkit) {
    spdlog::warn("testkit enabled: conformance fixtures are exposed (not for production)");
    engine_->add_backend(tools::make_testkit());
  }
  upstreams_ =
      with_credentials_scrubbed(gateway::read_upstreams(*opts_.document, protected_paths(opts_)));
}

void App::build_security(const config::Document& doc) {
  namespace fs = std::filesystem;
  const fs::path data(opts_.data_dir);

  // The audit log: on unless the configuration turns it off.
  if (auto ao = read_audit_options(doc, data)) {
    if (!opts_.check_only) {
      audit_ = std::make_shared<audit::AuditLog>(*ao);
      engine_->filters().add(std::make_shared<audit::AuditFilter>(audit_));
    }
  } else {
    spdlog::warn("audit log disabled by the configuration (audit.enabled: false)");
  }

  // Fernet keys and upstream secrets (a check only needs to know that an
  // encryptor will exist).
  pii::Encryptor encryptor;
  if (opts_.check_only) {
    encryptor = [](std::string_view) -> std::string {
      throw std::logic_error("no keys in check-config");
    };
  } else {
    fernet_ = std::make_shared<const security::MultiFernet>(
        security::load_fernet_keys(data / "security"));
    secrets_ = std::make_shared<security::SecretStore>(data / "security", *fernet_);
    auto keys = fernet_;
    encryptor = [keys](std::string_view v) { return keys->encrypt(v); };
  }

  // The PII filter on every tools/call, resources/read and prompts/get, their
  // errors, and every message relayed outside them. Without a policy it
  // still detects and audits (default: allow).
  config::Reader sec(doc, "/security");
  pii::PolicyOptions policy;
  policy.default_action = pii::PiiAction::kAllow;
  if (auto* pii = sec.raw("pii")) {
    if (!pii->is_object()) doc.fail("/security/pii", "must be a mapping");
    try {
      policy = pii::policy_options_from_json(pii->get_object());
    } catch (const std::exception& e) {
      doc.fail("/security/pii", e.what());
    }
  }
  sec.finish();
  // PII in relayed notifications, server-to-client requests and the
  // client's answers has no call record to go in: it is an audit event.
  pii::PiiFilter::Report pii_report;
  if (audit_) pii_report = [audit = audit_](boost::json::object e) { audit->append(std::move(e)); };
  std::shared_ptr<pii::PiiFilter> pii_filter;
  try {
    // The compiled pattern databases are cached in the data directory
    // (private, verified on load): a restart does not compile them again.
    std::filesystem::path db_cache;
    if (!opts_.check_only) db_cache = std::filesystem::path(opts_.data_dir) / "cache" / "pii";
    pii_filter = pii::make_pii_filter(policy, encryptor, pii_report, std::move(db_cache));
    // The normalization tables now, so no request pays for building them.
    if (!opts_.check_only) pii::init_normalization();
  } catch (const std::exception& e) {
    doc.fail("/security/pii", e.what());
  }
  engine_->filters().add(pii_filter);
  // First on the way back (responses run the chain in reverse), so the PII
  // filter, the audit record and the client only see the scrubbed result.
  // Notifications and server-to-client requests have no audit record of
  // their own: a redaction there is an audit event.
  security::SecretScrubFilter::Report report;
  if (audit_) report = [audit = audit_](boost::json::object e) { audit->append(std::move(e)); };
  engine_->filters().add(
      std::make_shared<security::SecretScrubFilter>(security::Redactor::global(), report));

  // Built-in tools from the seed (off unless asked for).
  config::Reader bt(doc, "/builtin_tools");
  bool security_tools = bt.boolean("security", false);
  oauth2_tools_ = bt.boolean("oauth2", false);
  bt.finish();
  if (security_tools) {
    auto tools = std::make_shared<server::BuiltinBackend>("security");
    auto scanner = std::shared_ptr<const pii::PiiScanner>(pii_filter, &pii_filter->scanner());
    tools->add_sync_tool(tools::make_test_pii_detection_tool(scanner, policy.mask));
    tools->add_sync_tool(tools::make_simulate_data_breach_detection_tool(scanner, policy));
    if (fernet_) tools->add_sync_tool(tools::make_test_encryption_tool(fernet_));
    if (audit_) {
      tools->add_sync_tool(tools::make_get_security_audit_log_tool(audit_->options().dir));
      tools->add_sync_tool(
          tools::make_generate_security_report_tool(audit_->options().dir, audit_->public_key()));
    }
    engine_->add_backend(tools);
  }
}

void App::attach_gateway() {
  // Always present, even without servers, so a reload can add some.
  for (auto& u : upstreams_)
    if (u.sandbox.runtime == sandbox::RuntimeKind::kProcess &&
        u.url.empty())  // HTTP upstreams run nowhere here
      spdlog::warn("upstream {}: runtime 'process' runs it without any isolation", u.name);
  auto secrets = secrets_;
  auto audit = audit_;
  gateway::GatewayOptions go;
  go.max_processes = gateway::read_max_processes(*opts_.document);
  go.era_bridge = gateway::read_era_bridge(*opts_.document);
  go.secrets = [secrets, audit](const std::string& name) -> std::optional<std::string> {
    auto v = secrets->get(name);
    if (!v) return v;
    // From now on no log line or relayed error shows it.
    security::Redactor::global().add(*v);
    if (audit) audit->append(boost::json::object{{"event_type", "secret_used"}, {"secret", name}});
    return v;
  };
  // Refused catalogue entries and name/URI conflicts are audit events. What
  // an upstream wrote in them (an item's name, a refusal's reason) is scrubbed
  // of known secrets first, as its messages to clients are.
  if (audit)
    go.audit = [audit](boost::json::object e) {
      boost::json::value v(std::move(e));
      security::scrub_json(v, security::Redactor::global());
      audit->append(std::move(v.get_object()));
    };
  // Tool definitions are pinned beside the other shared state; check-config
  // writes nothing.
  if (!opts_.check_only) {
    go.pins_dir = std::filesystem::path(opts_.data_dir) / "pins";
    go.lint_cache_dir = std::filesystem::path(opts_.data_dir) / "cache" / "lint";
  }
  // Task ids of upstreams' tasks are sealed with the requestState key (bound
  // differently, so neither opens as the other): every replica sharing the
  // data directory serves a task's next poll. A task can be followed for a day.
  if (!opts_.check_only)
    go.task_ids = protocol::StateSealer::from_key_file(
        std::filesystem::path(opts_.data_dir) / "mcp" / "request_state.key", std::chrono::hours(24));
  gateway_ =
      std::make_shared<gateway::GatewayBackend>(io_.get_executor(), upstreams_, std::move(go));
  engine_->add_backend(gateway_);
  gateway_->start();
}

namespace {
std::size_t thread_count(std::size_t configured) {
  return configured ? configured : std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

void App::run_loop() {
  // Free heap pages go back to the kernel while serving (heap_release.hpp).
  HeapRelease heap;
  io_.run();
}

void App::stop_backends() {
  engine_->close_all();
  if (auth_) auth_->flush_audit();  // the failure counts, before the audit log closes
  if (gateway_) gateway_->shutdown();
  sandbox::terminate_all_children(std::chrono::milliseconds(2000));
}

auth::Options App::with_issuer(auth::Options o) const {
  if (o.issuer.empty()) o.issuer = local_issuer(opts_.http.host, bound_port_);
  return o;
}

namespace {

// The OAuth routes on the connection's coroutine: AuthServer answers at once
// or from its hashing pool; either way the answer is handed back to the
// connection's executor, never written from a hashing thread.
asio::awaitable<std::optional<transport::Response>> auth_route(std::shared_ptr<auth::AuthServer> as,
                                                               const transport::Request& req,
                                                               auth::Caller caller) {
  using Answer = std::optional<transport::Response>;
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Answer)>(
      [&](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        auto deliver = [h](Answer a) {
          auto ex = asio::get_associated_executor(*h);
          asio::post(ex, [h, a = std::move(a)]() mutable { std::move (*h)(std::move(a)); });
        };
        bool ours = as->handle_async(req, caller,
                                     [deliver](transport::Response r) { deliver(std::move(r)); });
        if (!ours) deliver(std::nullopt);
      },
      asio::use_awaitable);
}

}  // namespace

void App::attach_auth(transport::HttpServer& http) {
  if (!auth_options_) return;
  bound_port_ = http.port();
  auth::Options ao = with_issuer(*auth_options_);
  auth_ = std::make_shared<auth::AuthServer>(ao);
  // Every auth event is counted (token issued/denied/revoked, 401s, 403s;
  // an aggregated record counts its `count`) and, with the audit log on,
  // recorded. No token is issued while the audit log cannot record it.
  auto audit_sink = [audit = audit_](boost::json::object e) {
    if (auto* t = e.if_contains("event_type"); t && t->is_string()) {
      double n = 1;
      if (auto* c = e.if_contains("count"); c && c->is_number()) n = c->to_number<double>();
      metrics::Metrics::global().add(
          "bastion_auth_events_total",
          fmt::format("event=\"{}\"", metrics::label_value(t->get_string())), n);
    }
    return audit ? audit->append(std::move(e)) != 0 : true;
  };
  auth_->set_audit_sink(audit_sink, [audit = audit_] { return !audit || audit->available(); });
  auto as = auth_;
  // Guesses from a locked-out client or source (and malformed forms) are
  // refused on the I/O thread; the rest goes to a route thread.
  http.add_quick_route([as](const transport::Request& req, const transport::RequestContext& ctx) {
    return as->refuse_at_once(req, auth::Caller{ctx.peer});
  });
  http.add_async_route([as](const transport::Request& req, const transport::RequestContext& ctx) {
    return auth_route(as, req, auth::Caller{ctx.peer});
  });
  if (ao.require_auth) {
    http.set_authenticator(
        [as](const transport::Request& req, const transport::RequestContext& ctx) {
          return as->authenticate(req, auth::Caller{ctx.peer});
        });
    // A call outside the token's scopes is refused at the HTTP layer with
    // 403 insufficient_scope naming the scope that would allow it.
    auto* engine = engine_.get();
    http.set_message_check(
        [as, engine](const transport::Request& req, const protocol::Principal& p,
                     const boost::json::object& msg) -> std::optional<transport::Response> {
          auto* m = msg.if_contains("method");
          if (!m || !m->is_string() || m->get_string() != "tools/call") return std::nullopt;
          auto* params = msg.if_contains("params");
          auto* name =
              params && params->is_object() ? params->get_object().if_contains("name") : nullptr;
          if (!name || !name->is_string()) return std::nullopt;
          // The engine's own resolution (the one a call makes), so this check
          // and the engine's can never disagree about who serves the tool.
          auto route = engine->resolve(server::Kind::kTool, name->get_string());
          if (!route || auth::may_use(p, route->server, route->name)) return std::nullopt;
          return as->require_scope(req, p, auth::tool_scope(route->server, route->name));
        });
    engine_->set_authorizer([](const protocol::Principal& p, std::string_view server, server::Kind,
                               std::string_view name) { return auth::may_use(p, server, name); });
    // Upstream messages tied to no call reach only callers allowed to use that server.
    engine_->set_server_authorizer([](const protocol::Principal& p, std::string_view server) {
      return auth::may_use_server(p, server);
    });
  }
  if (login_) {
    login::LoginInteraction::Hooks h;
    h.revoke_grants = [as](std::string_view sub, std::string_view client) {
      return as->signin().revoke_grants(sub, client);
    };
    h.grant_clients = [as](std::string_view sub) {
      std::vector<std::string> out;
      for (const auto& g : as->signin().grants())
        if (g.subject == sub && !g.revoked) out.push_back(g.client_id);
      return out;
    };
    h.audit = [audit_sink](boost::json::object e) { audit_sink(std::move(e)); };
    h.hashing = &as->hashing();
    login_interaction_ = std::make_shared<login::LoginInteraction>(ao.issuer, ao.data_dir, *login_,
                                                                   access_, std::move(h));
    as->set_interaction(login_interaction_);
    if (!ao.signin.test_login.empty())
      spdlog::warn("auth.test_login is ignored: the sign-in pages (auth.login) are configured");
  }
  if (oauth2_tools_) {
    auto tools = std::make_shared<server::BuiltinBackend>("oauth2");
    for (auto& t : tools::oauth2_tools(auth_)) tools->add_sync_tool(std::move(t));
    engine_->add_backend(tools);
  }
  {
    // Brute-force defences, visible to monitoring.
    auto& m = metrics::Metrics::global();
    std::weak_ptr<auth::AuthServer> weak = auth_;
    m.gauge("bastion_auth_secret_verifications_total",
            "argon2id client secret verifications (an unknown client id costs one too)", [] {
              return std::vector<std::pair<std::string, double>>{
                  {"", static_cast<double>(auth::secret_verifications())}};
            });
    m.gauge("bastion_auth_lockouts_total",
            "Client authentications refused with 429 after repeated failures", [weak] {
              auto a = weak.lock();
              return std::vector<std::pair<std::string, double>>{
                  {"", a ? static_cast<double>(a->stats().lockouts) : 0.0}};
            });
  }
  spdlog::info("OAuth2 authorization server: issuer {}{}", ao.issuer,
               ao.require_auth ? ", /mcp requires a bearer token" : "");
}

void App::register_metrics() {
  auto& m = metrics::Metrics::global();
  m.help("bastion_mcp_requests_total", "MCP requests handled, by method and outcome");
  m.help("bastion_mcp_request_duration_seconds", "MCP request handling time, by method");
  m.help("bastion_http_responses_total", "HTTP responses, by status code");
  m.help("bastion_pii_findings_total",
         "PII found in tool/prompt traffic, by type, action, direction");
  m.help("bastion_auth_events_total",
         "OAuth2 events: token_issued, token_denied, token_revoked, auth_failure (401), "
         "access_denied (403)");
  m.help("bastion_audit_write_failures_total",
         "Audit records that could not be written (disk full, I/O error)");
  m.help("bastion_audit_refused_calls_total",
         "Calls refused because the audit log could not record them");
  m.help("bastion_audit_writes_total",
         "write(2) calls that appended audit records (group commit: one per batch)");
  m.help("bastion_audit_records_total", "Audit records appended by this process");
  if (audit_) {
    // Present (at 0) from the start, so an alert on them needs no special case.
    m.add("bastion_audit_write_failures_total", "", 0);
    m.add("bastion_audit_refused_calls_total", "", 0);
    std::weak_ptr<audit::AuditLog> weak_audit = audit_;
    m.gauge(
        "bastion_audit_available",
        "1 while the audit log can record calls; 0 while calls are refused (disk full)",
        [weak_audit] {
          auto a = weak_audit.lock();
          return std::vector<std::pair<std::string, double>>{{"", a && a->available() ? 1.0 : 0.0}};
        });
  }
  m.gauge("bastion_resident_bytes", "The process's resident size (RSS)", [] {
    return std::vector<std::pair<std::string, double>>{
        {"", static_cast<double>(resident_bytes())}};
  });
  m.gauge("bastion_heap_trims_total", "Times free heap pages were given back to the kernel", [] {
    return std::vector<std::pair<std::string, double>>{
        {"", static_cast<double>(heap_release_stats().trims)}};
  });
  m.gauge("bastion_heap_released_bytes_total",
          "Resident bytes fewer right after those trims, summed", [] {
            return std::vector<std::pair<std::string, double>>{
                {"", static_cast<double>(heap_release_stats().released_bytes)}};
          });
  m.gauge("bastion_sessions", "Live MCP sessions", [this] {
    return std::vector<std::pair<std::string, double>>{
        {"", static_cast<double>(engine_->session_count())}};
  });
  m.gauge("bastion_session_backlog_bytes",
          "Approximate bytes sessions hold for standalone streams they have not opened", [this] {
            return std::vector<std::pair<std::string, double>>{
                {"", static_cast<double>(engine_->backlog_bytes())}};
          });
  m.help("bastion_notifications_dropped_total",
         "Notifications dropped: reason no_stream (the oldest a session held while it had no "
         "stream open), queue_full (a stream's queue was full)");
  m.add("bastion_notifications_dropped_total", "reason=\"no_stream\"", 0);
  m.add("bastion_notifications_dropped_total", "reason=\"queue_full\"", 0);
  if (!gateway_) return;
  // The registry is process-wide and outlives the App: it must not keep the
  // gateway (and through it the audit log) alive into static destruction.
  std::weak_ptr<gateway::GatewayBackend> weak = gateway_;
  m.gauge("bastion_upstream_up", "1 when the upstream server is running and initialized", [weak] {
    std::vector<std::pair<std::string, double>> out;
    auto gw = weak.lock();
    if (!gw) return out;
    for (auto& u : gw->upstreams())
      out.emplace_back(fmt::format("server=\"{}\",state=\"{}\"", metrics::label_value(u->name()),
                                   gateway::to_string(u->state())),
                       u->state() == gateway::UpstreamState::kReady ? 1 : 0);
    return out;
  });
  m.gauge("bastion_upstream_restarts", "Restarts after an upstream crashed", [weak] {
    std::vector<std::pair<std::string, double>> out;
    auto gw = weak.lock();
    if (!gw) return out;
    for (auto& u : gw->upstreams())
      out.emplace_back(fmt::format("server=\"{}\"", metrics::label_value(u->name())),
                       static_cast<double>(u->restarts()));
    return out;
  });
  m.gauge("bastion_upstream_instances", "Upstream server instances running", [weak] {
    auto gw = weak.lock();
    return std::vector<std::pair<std::string, double>>{
        {"", gw ? static_cast<double>(gw->running_instances()) : 0.0}};
  });
}

void App::attach_console(transport::HttpServer& http) {
  if (!console_.enabled || !login_interaction_) return;
  console::Services s;
  s.login = login_interaction_;
  s.issuer = auth_->options().issuer;
  s.gateway = gateway_;
  s.pins = std::make_shared<gateway::PinStore>(std::filesystem::path(opts_.data_dir) / "pins");
  s.auth = auth_;
  s.audit = audit_;
  // reload() swaps the document; a reader keeps its copy.
  s.config = [this] {
    std::shared_ptr<const config::Document> doc;
    {
      std::lock_guard lk(reload_mu_);
      doc = opts_.document;
    }
    return doc->root();
  };
  s.reload = [this] { return reload(); };
  auto c = std::make_shared<console::Console>(console_, std::move(s));
  http.add_route([c](const transport::Request& req) { return c->handle(req); });
  spdlog::info("console at {}{} (admins: {} users, {} groups; viewers: {} users, {} groups)",
               auth_->options().issuer, console_.path, console_.admins.users.size(),
               console_.admins.groups.size(), console_.viewers.users.size(),
               console_.viewers.groups.size());
}

int App::serve() {
  auto& ioc = io_;
  attach_gateway();
  transport::HttpServer http(ioc, *engine_, opts_.http);
  // Connections run on worker loops, one thread each (transport/io_workers.hpp):
  // io_, run by this thread, is the first, and keeps the acceptor, the
  // timers, the signals and the upstreams.
  workers_ = std::make_unique<transport::IoWorkers>(io_, thread_count(opts_.threads));
  http.spread_connections(*workers_);
  http.bind();
  attach_auth(http);
  attach_console(http);
  register_metrics();
  http.add_route([](const transport::Request& req) -> std::optional<transport::Response> {
    if (req.target() != "/metrics") return std::nullopt;
    transport::Response res{boost::beast::http::status::ok, req.version()};
    res.set(boost::beast::http::field::content_type, "text/plain; version=0.0.4");
    res.body() = metrics::Metrics::global().render();
    return res;
  });
  http.add_route([this](const transport::Request& req) -> std::optional<transport::Response> {
    auto target = req.target();
    if (target != "/healthz" && target != "/readyz") return std::nullopt;
    transport::Response res{boost::beast::http::status::ok, req.version()};
    res.set(boost::beast::http::field::content_type, "application/json");
    res.body() = target == "/healthz"
                     ? std::string(R"({"status":"ok"})")
                     : boost::json::serialize(boost::json::object{
                           {"status", "ready"}, {"sessions", engine_->session_count()}});
    return res;
  });
  workers_->start();
  http.start();

  // Signals are caught from here on; only then is "serving" announced, so a
  // SIGTERM right after it still shuts down cleanly.
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::steady_timer poll(ioc);
  auto deadline = std::chrono::steady_clock::time_point::max();
  std::function<void()> wait_drained = [&] {
    // Bounded wait for connections to finish, then stop whatever remains.
    if (http.connection_count() == 0 || std::chrono::steady_clock::now() >= deadline) {
      ioc.stop();
      return;
    }
    poll.expires_after(std::chrono::milliseconds(20));
    poll.async_wait([&](const boost::system::error_code&) { wait_drained(); });
  };
  asio::signal_set hup(ioc, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      (void)reload();
      wait_hup();
    });
  };
  wait_hup();
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    hup.cancel();
    spdlog::info("signal {}: shutting down", sig);
    http.stop();
    deadline = std::chrono::steady_clock::now() + opts_.http.shutdown_grace;
    wait_drained();
  });
  spdlog::info("bastion serving MCP on http://{}:{}{}", opts_.http.host, http.port(),
               opts_.http.mcp_path);
  run_loop();
  // As io_: stopped, what is queued there stays until the workers are destroyed.
  workers_->stop();
  stop_backends();
  spdlog::info("bastion stopped");
  return 0;
}

int App::stdio() {
  auto& ioc = io_;
  attach_gateway();
  transport::StdioServer server(ioc, *engine_);
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  auto work = asio::make_work_guard(ioc);
  server.start([&] {
    signals.cancel();
    work.reset();
    ioc.stop();
  });
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    server.stop();
    ioc.stop();
  });
  run_loop();
  stop_backends();
  return 0;
}

}  // namespace bastion::app
