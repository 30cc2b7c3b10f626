#include "gateway/options.hpp"

#include <fmt/format.h>

#include <boost/algorithm/string/predicate.hpp>
#include <filesystem>
#include <regex>
#include <set>

#include "gateway/catalogue.hpp"
#include "protocol/url_display.hpp"
#include "sandbox/launch.hpp"

namespace bastion::gateway {

using config::Reader;

namespace {

std::string json_text(const boost::json::value& v) { return boost::json::serialize(v); }

std::string config_dir_of(const config::Document& doc) {
  std::error_code ec;
  auto p = std::filesystem::absolute(doc.name(), ec).parent_path();
  return ec ? std::string(".") : p.lexically_normal().string();
}

std::optional<std::string> prefix_problem(const std::string& p) {
  if (p.size() > kMaxPrefix)
    return fmt::format("a prefix is at most {} characters (this one has {})", kMaxPrefix, p.size());
  if (!p.empty() && p.back() == '_') return std::string("a prefix must not end with '_'");
  return std::nullopt;
}

// Why two servers' prefixes would make some exposed name ambiguous, if they
// would: equal prefixes, two unprefixed servers, or one inside the other's
// namespace ("a" and "a__b": is "a__b__x" a's "b__x" or a__b's "x"?).
std::optional<std::string> prefix_clash(const UpstreamOptions& a, const UpstreamOptions& b) {
  if (a.prefix == b.prefix)
    return a.prefix.empty() ? fmt::format(
                                  "server '{}' has prefix \"\" too: only one server may expose its "
                                  "names without a prefix",
                                  b.name)
                            : fmt::format(
                                  "prefix '{}' is server '{}''s too: each server needs its own "
                                  "namespace",
                                  a.prefix, b.name);
  for (auto [x, y] : {std::pair{&a, &b}, std::pair{&b, &a}})
    if (!x->prefix.empty() && !y->prefix.empty() && under_prefix(y->prefix + "_", x->prefix))
      return fmt::format(
          "prefix '{}' lies in server '{}''s namespace ('{}__'): exposed names would "
          "be ambiguous",
          y->prefix, x->name, x->prefix);
  return std::nullopt;
}

bool valid_name(const std::string& n) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
  return std::regex_match(n, re);
}

std::map<std::string, std::string> read_env(Reader& r, std::string_view key) {
  std::map<std::string, std::string> env;
  Reader e = r.child(key);
  for (const auto& k : e.keys()) env[k] = e.str(k, "");
  e.finish();
  return env;
}

// "${CONFIG_DIR}" in commands, arguments, environment values and paths is
// the directory of the configuration file, so a config can name files next
// to it without depending on the working directory.
std::string expand(std::string v, const std::string& config_dir) {
  static const std::string kVar = "${CONFIG_DIR}";
  for (auto pos = v.find(kVar); pos != std::string::npos;
       pos = v.find(kVar, pos + config_dir.size()))
    v.replace(pos, kVar.size(), config_dir);
  return v;
}

// gateway: settings every server shares.
struct GatewayDefaults {
  sandbox::RuntimeKind runtime = sandbox::RuntimeKind::kBwrap;
  // No default_runtime was set: a server that names no runtime either gets
  // bwrap, and is refused where bwrap does not work (never run unconfined
  // because of the host it landed on).
  bool runtime_implicit = true;
  const std::function<bool()>* bwrap_works = nullptr;
  std::string instance = "default";
  sandbox::IdentityOptions identity;
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string fingerprint;  // all of the above, for reloads
};

sandbox::RuntimeKind runtime_kind(const std::string& s) {
  auto k = sandbox::parse_runtime(s);
  return k ? *k : sandbox::RuntimeKind::kBwrap;  // choice() allows only the three
}

UpstreamOptions read_server(Reader& s, const std::string& name, bool claude_format,
                            const GatewayDefaults& gw) {
  UpstreamOptions o;
  o.name = name;
  o.prefix = name;
  auto command = s.opt_str("command");
  auto args = s.str_list("args");
  if (command) {
    o.command.push_back(*command);
    o.command.insert(o.command.end(), args.begin(), args.end());
  } else if (!args.empty()) {
    s.fail("args", "needs `command`");
  }
  o.env = read_env(s, "env");
  o.secret_env = read_env(s, "secrets");
  for (const auto& [var, secret] : o.secret_env)
    if (o.env.count(var)) s.fail("secrets", "'" + var + "' is set both in env and in secrets");
  o.url = s.str("url", "");
  if (!o.url.empty() && command)
    s.fail("url", "give either `command` (stdio) or `url` (HTTP), not both");
  if (!o.url.empty()) {
    std::string t = s.choice("transport", "streamable-http", {"streamable-http", "sse"});
    o.legacy_sse = t == "sse";
    o.headers = read_env(s, "headers");
    // env: and secrets: become a stdio server's environment variables; an
    // HTTP server has none, so they would be read and never sent.
    if (!o.env.empty())
      s.fail("env",
             "an HTTP (`url:`) server has no environment: what it needs goes in `headers:` "
             "(or the URL)");
    if (!o.secret_env.empty())
      s.fail("secrets",
             "an HTTP (`url:`) server has no environment for secrets: to keep its credential "
             "out of this file, send it in `headers:` from the environment, e.g. "
             "Authorization: \"Bearer ${env:API_KEY}\"");
  } else {
    s.raw("transport");
  }
  if (o.url.empty() && gw.runtime_implicit && (claude_format || !s.has("runtime")) &&
      !(*gw.bwrap_works)())
    s.fail("runtime",
           "names no runtime, and bubblewrap (the default sandbox) does not work on this host "
           "(not installed, or user namespaces are blocked): install or enable bubblewrap, give "
           "the server a `runtime:` (docker; or process, which runs it without isolation), or "
           "set `gateway.default_runtime`");
  if (claude_format) {
    // Claude/Cursor entries carry no runtime: they get the default sandbox.
    o.sandbox.runtime = gw.runtime;
    s.raw("type");
    s.raw("disabled");
  } else {
    o.cwd = s.str("cwd", "");
    auto& sb = o.sandbox;
    sb.runtime = runtime_kind(s.choice("runtime", std::string(sandbox::to_string(gw.runtime)),
                                       {"process", "bwrap", "docker"}));
    sb.user = s.str("user", "");
    sb.network = s.boolean("network", false);
    Reader paths = s.child("paths");
    sb.read_only = paths.str_list("read_only");
    sb.read_write = paths.str_list("read_write");
    paths.finish();
    for (auto* list : {&sb.read_only, &sb.read_write})
      for (auto& p : *list)
        if (p.empty() || (p[0] != '/' && !p.starts_with("${CONFIG_DIR}")))
          s.fail("paths", "paths must be absolute (or start with ${CONFIG_DIR}): " + p);
    Reader lim = s.child("limits");
    sb.limits.memory_bytes = lim.bytes("memory", sb.limits.memory_bytes);
    sb.limits.cpu_seconds = static_cast<std::uint64_t>(lim.integer("cpu_seconds", 0, 0, 1 << 30));
    sb.limits.max_pids = static_cast<std::uint64_t>(
        lim.integer("pids", static_cast<std::int64_t>(sb.limits.max_pids), 0, 1 << 22));
    sb.limits.open_files = static_cast<std::uint64_t>(
        lim.integer("open_files", static_cast<std::int64_t>(sb.limits.open_files), 0, 1 << 20));
    lim.finish();
    sb.seccomp = s.boolean("seccomp", true);
    Reader dk = s.child("docker");
    sb.image = dk.str("image", "");
    sb.container = dk.str("container", "");
    dk.finish();
    if (sb.runtime == sandbox::RuntimeKind::kDocker && sb.image.empty() && sb.container.empty())
      s.fail("docker", "runtime docker needs docker.image or docker.container");
    if (s.has("prefix")) o.prefix = s.str("prefix", name);
    if (!o.prefix.empty() && !valid_name(o.prefix))
      s.fail("prefix", "must be letters, digits, '_' or '-' (or empty)");
    Reader cat = s.child("catalogue");
    o.catalogue.max_description = cat.bytes("max_description", o.catalogue.max_description);
    if (o.catalogue.max_description < 256 || o.catalogue.max_description > (16u << 20))
      cat.fail("max_description", "must be between 256B and 16MiB");
    o.catalogue.max_schema = cat.bytes("max_schema", o.catalogue.max_schema);
    if (o.catalogue.max_schema < 1024 || o.catalogue.max_schema > (16u << 20))
      cat.fail("max_schema", "must be between 1KiB and 16MiB");
    cat.finish();
    Reader rl = s.child("relay");
    o.relay.sampling = rl.boolean("sampling", o.relay.sampling);
    o.relay.elicitation = rl.boolean("elicitation", o.relay.elicitation);
    o.relay.roots = rl.boolean("roots", o.relay.roots);
    rl.finish();
    Reader tk = s.child("tasks");
    for (const auto& tool : tk.keys())
      o.tasks[tool] = tk.choice(tool, "optional", {"optional", "required"}) == "required"
                          ? TaskMode::kRequired
                          : TaskMode::kOptional;
    tk.finish();
    if (s.has("era")) {
      std::string era = s.choice("era", "auto", {"auto", "legacy", "modern"});
      o.era = *parse_upstream_era(era);
    }
    std::string pin = s.choice("pinning", "enforce", {"enforce", "warn", "off"});
    o.pinning = pin == "warn" ? PinMode::kWarn : pin == "off" ? PinMode::kOff : PinMode::kEnforce;
    std::string lint = s.choice("lint", "warn", {"warn", "block", "off"});
    o.lint = lint == "block" ? LintMode::kBlock : lint == "off" ? LintMode::kOff : LintMode::kWarn;
    o.eager = s.choice("start", "lazy", {"lazy", "eager"}) == "eager";
    o.per_session = s.choice("instances", "shared", {"shared", "per_session"}) == "per_session";
    o.max_instances = static_cast<std::size_t>(s.integer("max_instances", 16, 1, 100000));
    Reader t = s.child("timeouts");
    o.init_timeout = t.duration("init", o.init_timeout);
    o.call_timeout = t.duration("call", o.call_timeout);
    o.ping_interval = t.duration("ping", o.ping_interval);
    o.idle_shutdown = t.duration("idle", o.idle_shutdown);
    t.finish();
    o.max_line_bytes = s.bytes("max_message", o.max_line_bytes);
  }
  // Unknown keys first: a misspelt `command` should be reported as the typo.
  s.finish();
  // The prefix starts every exposed name of this server: it must leave room
  // for the name within 64 characters, and "<prefix>__" must never be
  // another prefix's "<other>__" plus more (a trailing '_' would allow that).
  if (auto why = prefix_problem(o.prefix)) {
    if (s.has("prefix")) s.fail("prefix", *why);
    s.document().fail(s.pointer(),
                      "the server's name is its prefix, and " + *why + ": give it a `prefix`");
  }
  o.sandbox.instance = gw.instance;
  o.sandbox.identity = gw.identity;
  o.sandbox.cgroup_root = gw.cgroup_root;
  if (o.command.empty() && o.url.empty())
    s.fail("command", "is required (the stdio command that starts the server), or `url`");
  std::string dir = config_dir_of(s.document());
  for (auto& a : o.command) a = expand(a, dir);
  for (auto& [k, v] : o.env) v = expand(v, dir);
  o.cwd = expand(o.cwd, dir);
  for (auto* list : {&o.sandbox.read_only, &o.sandbox.read_write})
    for (auto& p : *list) p = expand(p, dir);
  return o;
}

}  // namespace

namespace {

// Standard headers that say what a request carries or accepts, never who
// sends it: their values (application/json, gzip, en-US) are ordinary text
// that scrubbing would take out of every result.
bool describes_content(std::string_view header) {
  for (std::string_view h : {"accept", "accept-encoding", "accept-language", "cache-control",
                             "content-type", "user-agent"})
    if (boost::algorithm::iequals(header, h)) return true;
  return false;
}

}  // namespace

std::vector<std::string> http_credentials(const UpstreamOptions& o) {
  std::vector<std::string> out;
  if (o.url.empty()) return out;
  for (const auto& [name, value] : o.headers) {
    if (describes_content(name)) continue;
    out.push_back(value);
    // "<scheme> <credential>" (Authorization, Proxy-Authorization, ...);
    // not a short word, which ordinary text holds.
    if (auto space = value.find(' ');
        space != std::string::npos && value.size() - space - 1 >= kMinCredentialBytes)
      out.push_back(value.substr(space + 1));
  }
  auto url = protocol::url_credentials(o.url);
  for (auto& c : url.whole) out.push_back(std::move(c));
  for (auto& c : url.query_values)
    if (c.size() >= kMinCredentialBytes) out.push_back(std::move(c));
  return out;
}

std::size_t read_max_processes(const config::Document& doc) {
  Reader root(doc, "");
  Reader gw = root.child("gateway");
  gw.raw("default_runtime");
  gw.raw("instance");
  gw.raw("sandbox");
  gw.raw("input_requests");
  auto n = static_cast<std::size_t>(gw.integer("max_processes", 256, 1, 100000));
  gw.finish();
  return n;
}

EraBridgeOptions read_era_bridge(const config::Document& doc) {
  EraBridgeOptions o;
  Reader root(doc, "");
  Reader in = root.child("gateway").child("input_requests");
  o.limits.ttl = in.duration("wait", o.limits.ttl);
  if (o.limits.ttl < std::chrono::milliseconds(100) || o.limits.ttl > std::chrono::hours(1))
    in.fail("wait", "must be between 100ms and 1h");
  o.limits.max_total =
      static_cast<std::size_t>(in.integer("max_waiting", o.limits.max_total, 1, 1000000));
  o.limits.max_per_owner = static_cast<std::size_t>(
      in.integer("max_waiting_per_client", o.limits.max_per_owner, 1, 1000000));
  o.gather = in.duration("gather", o.gather);
  if (o.gather < std::chrono::milliseconds(0) || o.gather > std::chrono::seconds(1))
    in.fail("gather", "must be between 0 and 1s");
  in.finish();
  return o;
}

std::vector<UpstreamOptions> read_upstreams(const config::Document& doc,
                                            const std::vector<std::string>& protected_paths,
                                            const std::function<bool()>& bwrap_works) {
  std::vector<UpstreamOptions> out;
  std::set<std::string> names;
  Reader root(doc, "");
  // bwrap unless set; where bwrap does not work, servers must choose.
  Reader gw = root.child("gateway");
  GatewayDefaults defaults;
  defaults.runtime_implicit = !gw.has("default_runtime");
  defaults.runtime =
      runtime_kind(gw.choice("default_runtime", "bwrap", {"bwrap", "docker", "process"}));
  defaults.bwrap_works = &bwrap_works;
  gw.raw("max_processes");
  gw.raw("input_requests");
  // Labels this bastion's containers so a restarted one can find and remove
  // what a crashed one left (several bastions on a host need distinct names).
  defaults.instance = gw.str("instance", "default");
  if (!valid_name(defaults.instance)) gw.fail("instance", "must be letters, digits, '_' or '-'");
  Reader sb = gw.child("sandbox");
  defaults.identity.user = sb.str("user", defaults.identity.user);
  std::string range = sb.str(
      "uid_range", fmt::format("{}-{}", defaults.identity.uid_first,
                               defaults.identity.uid_first + defaults.identity.uid_count - 1));
  auto parsed = sandbox::parse_uid_range(range);
  if (!parsed)
    sb.fail("uid_range", "must be FIRST-LAST, two uids above 0 (e.g. 1000000000-1000999999)");
  defaults.identity.uid_first = parsed->first;
  defaults.identity.uid_count = parsed->second;
  defaults.cgroup_root = sb.str("cgroup_root", defaults.cgroup_root);
  if (defaults.cgroup_root.empty() || defaults.cgroup_root[0] != '/')
    sb.fail("cgroup_root", "must be an absolute path");
  sb.finish();
  gw.finish();
  defaults.fingerprint =
      fmt::format("{}|{}|{}|{}-{}|{}", sandbox::to_string(defaults.runtime), defaults.instance,
                  defaults.identity.user, defaults.identity.uid_first, defaults.identity.uid_count,
                  defaults.cgroup_root);
  auto add = [&](Reader& section, bool claude) {
    for (const auto& name : section.keys()) {
      if (!valid_name(name)) section.fail(name, "server names must be letters, digits, '_' or '-'");
      if (!names.insert(name).second)
        section.fail(name, "a server with this name is already defined");
      Reader s = section.child(name);
      if (!s.present()) section.fail(name, "must be a mapping");
      out.push_back(read_server(s, name, claude, defaults));
      for (std::size_t i = 0; i + 1 < out.size(); ++i)
        if (auto clash = prefix_clash(out[i], out.back())) {
          if (s.has("prefix")) s.fail("prefix", *clash);
          section.fail(name, *clash);
        }
      out.back().sandbox.protected_paths = protected_paths;
      if (auto* raw = section.raw(name))
        out.back().fingerprint = json_text(*raw) + "|" + defaults.fingerprint;
    }
    section.finish();
  };
  Reader servers = root.child("servers");
  add(servers, false);
  Reader claude = root.child("mcpServers");
  add(claude, true);
  if (auto file = root.opt_str("mcp_servers_file")) {
    if (file->starts_with("~/"))
      if (const char* home = std::getenv("HOME")) *file = std::string(home) + file->substr(1);
    auto other = config::Document::load(*file);
    Reader r(other, "");
    Reader c = r.child("mcpServers");
    if (!c.present()) r.fail("mcpServers", "is required in an mcpServers file");
    add(c, true);
  }
  return out;
}

}  // namespace bastion::gateway
