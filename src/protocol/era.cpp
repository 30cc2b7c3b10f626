#include "protocol/era.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "protocol/version.hpp"

namespace bastion::protocol {

namespace json = boost::json;

namespace {

const json::object* meta_of(const json::object* params) {
  if (!params) return nullptr;
  auto* m = params->if_contains("_meta");
  return m ? m->if_object() : nullptr;
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Bounded, printable ASCII: what may reach logs and upstream requests.
bool printable_ascii(std::string_view s, std::size_t max) {
  return s.size() <= max &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

bool is_modern_version(std::string_view v) {
  return std::find(kModernVersions.begin(), kModernVersions.end(), v) != kModernVersions.end();
}

Era era_of(const json::object* params, std::string_view header_version) {
  if (const json::object* meta = meta_of(params))
    if (auto* pv = meta->if_contains(meta_key::kProtocolVersion)) {
      if (pv->is_string() && is_supported_version(pv->get_string())) return Era::kLegacy;
      return Era::kModern;
    }
  return is_modern_version(header_version) ? Era::kModern : Era::kLegacy;
}

RpcError unsupported_version(std::string_view requested) {
  json::array supported;
  for (auto v : kAllVersions) supported.emplace_back(v);
  return RpcError{
      kUnsupportedProtocolVersion, "Unsupported protocol version",
      json::object{{"supported", std::move(supported)}, {"requested", requested.substr(0, 64)}}};
}

RpcError missing_client_capability(json::object required) {
  std::vector<std::string> names;
  for (auto& [k, v] : required) names.emplace_back(k);
  return RpcError{kMissingRequiredClientCapability,
                  fmt::format("Missing required client capability: {}", fmt::join(names, ", ")),
                  json::object{{"requiredCapabilities", std::move(required)}}};
}

RpcError header_mismatch(std::string message) {
  return RpcError{kHeaderMismatch, "Header mismatch: " + std::move(message)};
}

Expected<RequestMeta, RpcError> read_request_meta(const json::object* params) {
  const json::object* meta = meta_of(params);
  if (!meta) return invalid_params("Invalid params: _meta with the request metadata is required");
  RequestMeta out;
  auto* pv = meta->if_contains(meta_key::kProtocolVersion);
  if (!pv || !pv->is_string() || pv->get_string().empty())
    return invalid_params(
        fmt::format("Invalid params: _meta[\"{}\"] must be a string", meta_key::kProtocolVersion));
  auto* caps = meta->if_contains(meta_key::kClientCapabilities);
  if (!caps || !caps->is_object())
    return invalid_params(fmt::format("Invalid params: _meta[\"{}\"] must be an object",
                                      meta_key::kClientCapabilities));
  if (!is_modern_version(pv->get_string())) return unsupported_version(pv->get_string());
  out.protocol_version = std::string(pv->get_string());
  out.client_capabilities = caps->get_object();
  if (auto* info = meta->if_contains(meta_key::kClientInfo)) {
    if (!info->is_object())
      return invalid_params(
          fmt::format("Invalid params: _meta[\"{}\"] must be an object", meta_key::kClientInfo));
    out.client_info = info->get_object();
  }
  if (auto* lvl = meta->if_contains(meta_key::kLogLevel)) {
    static constexpr std::array<std::string_view, 8> kLevels = {
        "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
    if (!lvl->is_string() ||
        std::find(kLevels.begin(), kLevels.end(), lvl->get_string()) == kLevels.end())
      return invalid_params(
          fmt::format("Invalid params: _meta[\"{}\"] is not a log level", meta_key::kLogLevel));
    out.log_level = std::string(lvl->get_string());
  }
  // Trace context is advisory: a malformed one is dropped, never an error.
  if (auto* tp = meta->if_contains(meta_key::kTraceparent); tp && tp->is_string())
    if (valid_traceparent(tp->get_string())) {
      out.traceparent = std::string(tp->get_string());
      if (auto* ts = meta->if_contains(meta_key::kTracestate);
          ts && ts->is_string() && printable_ascii(ts->get_string(), 512))
        out.tracestate = std::string(ts->get_string());
    }
  return out;
}

bool removed_in_modern(std::string_view m) {
  return m == "initialize" || m == "ping" || m == "logging/setLevel" ||
         m == "resources/subscribe" || m == "resources/unsubscribe";
}

bool is_cacheable(std::string_view m) {
  return m == "server/discover" || m == "tools/list" || m == "prompts/list" ||
         m == "resources/list" || m == "resources/templates/list" || m == "resources/read";
}

bool allows_input_required(std::string_view m) {
  return m == "tools/call" || m == "prompts/get" || m == "resources/read";
}

std::string_view mcp_name_field(std::string_view m) {
  if (m == "tools/call" || m == "prompts/get") return "name";
  if (m == "resources/read") return "uri";
  // SEP-2663: tasks/* carry the task id in Mcp-Name, so intermediaries can
  // route a task's requests to the instance holding it.
  if (m == "tasks/get" || m == "tasks/update" || m == "tasks/cancel") return "taskId";
  return {};
}

std::string_view capability_for_input_request(std::string_view m) {
  if (m == "sampling/createMessage") return "sampling";
  if (m == "elicitation/create") return "elicitation";
  if (m == "roots/list") return "roots";
  return {};
}

bool valid_traceparent(std::string_view v) {
  // version "-" trace-id "-" parent-id "-" flags
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  auto version = v.substr(0, 2), trace = v.substr(3, 32), parent = v.substr(36, 16),
       flags = v.substr(53, 2);
  if (!is_lower_hex(version) || !is_lower_hex(trace) || !is_lower_hex(parent) ||
      !is_lower_hex(flags))
    return false;
  if (version == "ff") return false;
  if (trace == std::string(32, '0') || parent == std::string(16, '0')) return false;
  return true;
}

std::string_view result_type(const json::object& result) {
  if (auto* t = result.if_contains("resultType"); t && t->is_string()) return t->get_string();
  return "complete";
}

void decorate_modern_result(std::string_view method, json::object& result,
                            const ResultDecoration& d) {
  if (!result.contains("resultType")) result["resultType"] = "complete";
  if (!d.server_info.empty()) {
    json::value& m = result["_meta"];
    if (!m.is_object()) m = json::object{};
    m.get_object()[meta_key::kServerInfo] = d.server_info;
  }
  if (result_type(result) != "complete" || !is_cacheable(method)) return;
  if (auto* t = result.if_contains("ttlMs");
      !t || !(t->is_int64() || t->is_uint64()) || (t->is_int64() && t->get_int64() < 0))
    result["ttlMs"] = std::max<std::int64_t>(0, d.ttl_ms);
  if (auto* s = result.if_contains("cacheScope");
      !s || !s->is_string() || (s->get_string() != "public" && s->get_string() != "private"))
    result["cacheScope"] = d.private_scope ? "private" : "public";
}

namespace {
void canonical_into(const json::value& v, std::string& out) {
  if (v.is_object()) {
    const auto& o = v.get_object();
    std::vector<std::pair<std::string_view, const json::value*>> items;
    items.reserve(o.size());
    for (auto& [k, x] : o) items.emplace_back(std::string_view(k), &x);
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    out += '{';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) out += ',';
      out += json::serialize(json::string(items[i].first));
      out += ':';
      canonical_into(*items[i].second, out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (auto& x : v.get_array()) {
      if (!first) out += ',';
      first = false;
      canonical_into(x, out);
    }
    out += ']';
  } else {
    out += json::serialize(v);
  }
}
}  // namespace

std::string canonical_json(const json::value& v) {
  std::string out;
  canonical_into(v, out);
  return out;
}

}  // namespace bastion::protocol
