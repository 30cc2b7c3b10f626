#include "app/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "server/chash.hpp"

namespace bastion::app {

using config::ConfigError;
using config::Reader;

std::string default_data_dir() {
  if (const char* d = std::getenv("BASTION_DATA_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x)
    return (std::filesystem::path(x) / "bastion").string();
  if (const char* h = std::getenv("HOME"); h && *h)
    return (std::filesystem::path(h) / ".local/state/bastion").string();
  return "./bastion-data";
}

std::pair<std::string, std::uint16_t> parse_listen(std::string_view s) {
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos)
    throw ConfigError(fmt::format("listen address '{}' must be HOST:PORT", s));
  std::string host(s.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  auto port_s = s.substr(colon + 1);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
  if (ec != std::errc() || p != port_s.data() + port_s.size() || port > 65535)
    throw ConfigError(fmt::format("listen address '{}': bad port", s));
  return {host, static_cast<std::uint16_t>(port)};
}

AppOptions load_options(const std::optional<std::string>& path, const Overrides& ov) {
  return options_from_document(
      std::make_shared<config::Document>(path ? config::Document::load(*path)
                                              : config::Document::empty()),
      path, ov);
}

AppOptions options_from_document(std::shared_ptr<const config::Document> doc,
                                 const std::optional<std::string>& path, const Overrides& ov) {
  AppOptions o;
  o.document = doc;
  o.config_path = path;
  Reader root(*doc, "");

  std::string listen = root.str("listen", "127.0.0.1:8080");
  try {
    std::tie(o.http.host, o.http.port) = parse_listen(ov.listen.value_or(listen));
  } catch (const ConfigError& e) {
    if (ov.listen) throw;
    root.fail("listen", e.what());
  }
  auto file_dir = root.opt_str("data_dir");
  if (ov.data_dir) {
    o.data_dir = *ov.data_dir;
  } else if (auto d = file_dir) {
    // Relative to the configuration file, like every other path in it.
    std::filesystem::path p(*d);
    if (p.is_relative() && path) p = std::filesystem::path(*path).parent_path() / p;
    o.data_dir = p.lexically_normal().string();
  } else {
    o.data_dir = default_data_dir();
  }
  o.threads = static_cast<std::size_t>(root.integer("threads", 0, 0, 256));

  {
    Reader log = root.child("log");
    o.log.level = log.choice("level", o.log.level,
                             {"trace", "debug", "info", "warn", "error", "critical", "off"});
    o.log.format = log.choice("format", o.log.format, {"text", "json"});
    log.finish();
    if (ov.log_level) o.log.level = *ov.log_level;
  }
  {
    Reader h = root.child("http");
    auto& ho = o.http;
    ho.mcp_path = h.str("mcp_path", ho.mcp_path);
    if (ho.mcp_path.empty() || ho.mcp_path[0] != '/') h.fail("mcp_path", "must start with '/'");
    ho.max_body_bytes = h.bytes("max_body", ho.max_body_bytes);
    ho.max_header_bytes = h.bytes("max_header", ho.max_header_bytes);
    ho.read_timeout = h.duration("read_timeout", ho.read_timeout);
    ho.idle_timeout = h.duration("idle_timeout", ho.idle_timeout);
    ho.sse_keepalive = h.duration("sse_keepalive", ho.sse_keepalive);
    ho.sse_retry = h.duration("sse_retry", ho.sse_retry);
    ho.shutdown_grace = h.duration("shutdown_grace", ho.shutdown_grace);
    ho.allowed_origins = h.str_list("allowed_origins", ho.allowed_origins);
    ho.allowed_hosts = h.str_list("allowed_hosts", ho.allowed_hosts);
    ho.max_connections = static_cast<std::size_t>(
        h.integer("max_connections", static_cast<std::int64_t>(ho.max_connections), 1, 1000000));
    h.finish();
  }
  {
    Reader m = root.child("mcp");
    auto& e = o.engine;
    e.server_name = m.str("name", e.server_name);
    e.server_title = m.str("title", e.server_title);
    e.instructions = m.str("instructions", e.instructions);
    e.page_size = static_cast<std::size_t>(
        m.integer("page_size", static_cast<std::int64_t>(e.page_size), 1, 10000));
    e.client_request_timeout = m.duration("client_request_timeout", e.client_request_timeout);
    e.session_idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(
        m.duration("session_idle_timeout", e.session_idle_timeout));
    e.max_sessions = static_cast<std::size_t>(
        m.integer("max_sessions", static_cast<std::int64_t>(e.max_sessions), 1, 10000000));
    e.max_sessions_per_caller = static_cast<std::size_t>(
        m.integer("max_sessions_per_caller", static_cast<std::int64_t>(e.max_sessions_per_caller),
                  1, 10000000));
    e.cache_ttl_ms = m.integer("cache_ttl_ms", e.cache_ttl_ms, 0, 86400000);
    e.subscriptions.max_total = static_cast<std::size_t>(m.integer(
        "max_subscriptions", static_cast<std::int64_t>(e.subscriptions.max_total), 0, 1000000));
    e.subscriptions.max_per_caller = static_cast<std::size_t>(
        m.integer("max_subscriptions_per_client",
                  static_cast<std::int64_t>(e.subscriptions.max_per_caller), 0, 1000000));
    o.request_state_ttl = std::chrono::duration_cast<std::chrono::seconds>(
        m.duration("request_state_ttl", o.request_state_ttl));
    if (o.request_state_ttl.count() < 1) m.fail("request_state_ttl", "must be at least 1s");
    m.finish();
  }
  {
    // Replicas behind `hash $http_mcp_session_id consistent`: the ring as the
    // ingress lists it, and this replica's entry in it.
    Reader c = root.child("cluster");
    auto ring = c.str_list("ring");
    auto self = c.str("self", "");
    // In a StatefulSet each pod names itself through the environment.
    if (const char* env = std::getenv("BASTION_CLUSTER_SELF"); env && *env && !ring.empty())
      self = env;
    if (!ring.empty() || !self.empty()) {
      if (ring.empty() || std::find(ring.begin(), ring.end(), self) == ring.end())
        c.fail("self", "must be one of cluster.ring");
      auto r = std::make_shared<server::NginxChashRing>(ring);
      o.engine.accept_session_id = [r, self](std::string_view id) { return r->lookup(id) == self; };
    }
    c.finish();
  }
  {
    Reader t = root.child("testkit");
    o.testkit = t.boolean("enabled", false);
    t.finish();
    if (ov.testkit) o.testkit = *ov.testkit;
  }
  // Sections owned by other modules are validated where they are built.
  for (const char* k : {"auth", "security", "audit", "servers", "mcpServers", "mcp_servers_file",
                        "gateway", "builtin_tools", "console"})
    root.raw(k);
  root.finish();
  return o;
}

std::vector<std::string> protected_paths(const AppOptions& o) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  auto add = [&](std::string p) {
    if (p.empty()) return;
    if (p.starts_with("~/"))
      if (const char* home = std::getenv("HOME")) p = std::string(home) + p.substr(1);
    fs::path fp(p);
    if (fp.is_relative() && o.config_path) fp = fs::path(*o.config_path).parent_path() / fp;
    std::error_code ec;
    out.push_back(fs::absolute(fp, ec).lexically_normal().string());
  };
  add(o.data_dir);
  if (o.config_path) add(*o.config_path);
  const auto& root = o.document->root();
  if (!root.is_object()) return out;
  const auto& r = root.get_object();
  auto str = [](const boost::json::object& obj, std::string_view k) -> std::string {
    auto* v = obj.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  add(str(r, "mcp_servers_file"));
  if (auto* a = r.if_contains("audit"); a && a->is_object()) add(str(a->get_object(), "dir"));
  // Each member `key` of the objects in the list `list` of `obj`.
  auto add_each = [&](const boost::json::object& obj, std::string_view list, std::string_view key) {
    if (auto* l = obj.if_contains(list); l && l->is_array())
      for (const auto& e : l->get_array())
        if (e.is_object()) add(str(e.get_object(), key));
  };
  if (auto* a = r.if_contains("auth"); a && a->is_object()) {
    const auto& auth = a->get_object();
    add(str(auth, "data_dir"));
    add_each(auth, "clients", "secret_hash_file");
    if (auto* rg = auth.if_contains("registration"); rg && rg->is_object())
      add(str(rg->get_object(), "initial_access_token_file"));
    // The OIDC client secret of each sign-in provider.
    if (auto* lg = auth.if_contains("login"); lg && lg->is_object())
      add_each(lg->get_object(), "providers", "client_secret_file");
  }
  return out;
}

}  // namespace bastion::app
