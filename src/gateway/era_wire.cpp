#include "gateway/era_wire.hpp"

#include "protocol/era.hpp"
#include "protocol/param_headers.hpp"

namespace bastion::gateway {

namespace json = boost::json;
namespace mk = protocol::meta_key;

std::optional<UpstreamEra> parse_upstream_era(std::string_view s) {
  if (s == "auto") return UpstreamEra::kAuto;
  if (s == "legacy") return UpstreamEra::kLegacy;
  if (s == "modern") return UpstreamEra::kModern;
  return std::nullopt;
}

std::string_view to_string(UpstreamEra e) {
  switch (e) {
    case UpstreamEra::kAuto:
      return "auto";
    case UpstreamEra::kLegacy:
      return "legacy";
    case UpstreamEra::kModern:
      return "modern";
  }
  return "?";
}

void strip_modern_meta(json::object& params) {
  auto it = params.find("_meta");
  if (it == params.end() || !it->value().is_object()) return;
  json::object& meta = it->value().get_object();
  for (std::string_view k :
       {mk::kProtocolVersion, mk::kClientCapabilities, mk::kClientInfo, mk::kLogLevel})
    meta.erase(k);
  if (meta.empty()) params.erase(it);
}

void set_modern_meta(json::object& params, std::string_view version,
                     const json::object& client_info, const json::object& capabilities,
                     std::string_view log_level) {
  json::value& m = params["_meta"];
  if (!m.is_object()) m = json::object{};
  json::object& meta = m.get_object();
  meta[mk::kProtocolVersion] = version;
  meta[mk::kClientInfo] = client_info;
  meta[mk::kClientCapabilities] = capabilities;
  if (log_level.empty())
    meta.erase(mk::kLogLevel);
  else
    meta[mk::kLogLevel] = log_level;
}

namespace {
constexpr std::string_view kTasksExtensionId = "io.modelcontextprotocol/tasks";
}  // namespace

json::object modern_client_capabilities(const RelayOptions& relay,
                                        const json::object& client_caps) {
  json::object caps;
  auto copy = [&](std::string_view key, bool allowed) {
    if (!allowed) return;
    if (auto* v = client_caps.if_contains(key); v && v->is_object()) caps[key] = *v;
  };
  copy("sampling", relay.sampling);
  copy("elicitation", relay.elicitation);
  copy("roots", relay.roots);
  // The tasks extension passes through as the client declared it: the
  // gateway relays an upstream's tasks (task_relay.hpp) only to a client
  // that can follow them.
  if (auto* ext = client_caps.if_contains("extensions"); ext && ext->is_object())
    if (auto* t = ext->get_object().if_contains(kTasksExtensionId); t && t->is_object())
      caps["extensions"] = json::object{{kTasksExtensionId, t->get_object()}};
  return caps;
}

std::vector<std::pair<std::string, std::string>> modern_http_headers(const json::object& msg) {
  std::vector<std::pair<std::string, std::string>> h;
  const json::value* method = msg.if_contains("method");
  const json::value* params = msg.if_contains("params");
  if (!method || !method->is_string() || !params || !params->is_object()) return h;
  const json::value* meta = params->get_object().if_contains("_meta");
  if (!meta || !meta->is_object()) return h;
  const json::value* pv = meta->get_object().if_contains(mk::kProtocolVersion);
  if (!pv || !pv->is_string() || !protocol::is_modern_version(pv->get_string())) return h;
  h.emplace_back("MCP-Protocol-Version", std::string(pv->get_string()));
  h.emplace_back("Mcp-Method", std::string(method->get_string()));
  std::string_view field = protocol::mcp_name_field(method->get_string());
  if (!field.empty())
    if (auto* v = params->get_object().if_contains(field); v && v->is_string()) {
      // Base64 when not plain printable ASCII or shaped like the sentinel.
      h.emplace_back("Mcp-Name", protocol::encode_header_text(v->get_string()));
    }
  return h;
}

protocol::Expected<std::vector<std::pair<std::string, std::string>>, protocol::HeaderProblem>
mirror_tool_params(const json::object& msg, const ParamHeaderLookup& lookup) {
  std::vector<std::pair<std::string, std::string>> none;
  const json::value* method = msg.if_contains("method");
  const json::value* params = msg.if_contains("params");
  if (!lookup || !method || *method != "tools/call" || !params || !params->is_object()) return none;
  const json::value* name = params->get_object().if_contains("name");
  if (!name || !name->is_string()) return none;
  std::vector<protocol::ParamHeader> annotations = lookup(name->get_string());
  if (annotations.empty()) return none;
  return protocol::mirror_param_headers(annotations, params->get_object().if_contains("arguments"));
}

protocol::Expected<Discovered, ProbeError> read_discover(const json::object& result) {
  const json::value* sv = result.if_contains("supportedVersions");
  if (!sv || !sv->is_array()) return ProbeError{"server/discover result without supportedVersions"};
  Discovered d;
  // Ours are newest first: the first of ours the server lists wins.
  for (std::string_view mine : protocol::kModernVersions) {
    for (const auto& v : sv->get_array())
      if (v.is_string() && v.get_string() == mine) d.version = std::string(mine);
    if (!d.version.empty()) break;
  }
  if (d.version.empty()) {
    std::string listed;
    for (const auto& v : sv->get_array())
      if (v.is_string()) listed += (listed.empty() ? "" : ", ") + std::string(v.get_string());
    return ProbeError{"the server supports none of Bastion's Modern versions (it lists: " +
                      (listed.empty() ? std::string("none") : listed) + ")"};
  }
  for (const auto& v : sv->get_array())
    if (v.is_string() && !protocol::is_modern_version(v.get_string()))
      for (std::string_view mine : protocol::kAllVersions)
        if (v.get_string() == mine) d.legacy_too = true;
  if (auto* c = result.if_contains("capabilities"); c && c->is_object())
    d.capabilities = c->get_object();
  if (auto* m = result.if_contains("_meta"); m && m->is_object())
    if (auto* i = m->get_object().if_contains(mk::kServerInfo); i && i->is_object())
      d.server_info = i->get_object();
  if (auto* i = result.if_contains("instructions"); i && i->is_string())
    d.instructions = i->get_string();
  return d;
}

bool is_modern_error(int code) {
  return code == protocol::kUnsupportedProtocolVersion || code == protocol::kHeaderMismatch ||
         code == protocol::kMissingRequiredClientCapability;
}

void strip_modern_result(json::object& result) {
  if (protocol::result_type(result) == "complete") result.erase("resultType");
  // A task's ttlMs is how long it lives (SEP-2663), not a caching hint.
  if (protocol::result_type(result) != "task") result.erase("ttlMs");
  result.erase("cacheScope");
  auto it = result.find("_meta");
  if (it != result.end() && it->value().is_object()) {
    it->value().get_object().erase(mk::kServerInfo);
    if (it->value().get_object().empty()) result.erase(it);
  }
}

}  // namespace bastion::gateway
