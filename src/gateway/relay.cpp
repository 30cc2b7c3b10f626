#include "gateway/relay.hpp"

#include <fmt/format.h>

namespace bastion::gateway {

namespace json = boost::json;

namespace {
const json::object* object_at(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}
}  // namespace

std::optional<std::string> relay_refusal(std::string_view method, const json::object& params,
                                         const RelayOptions& relay,
                                         const json::object& client_caps) {
  auto forbidden = [](std::string_view what) {
    return fmt::format("this server's {} requests are not relayed (relay.{}: false)", what, what);
  };
  auto undeclared = [](std::string_view cap) {
    return fmt::format("the client did not declare the {} capability", cap);
  };
  if (method == "sampling/createMessage") {
    if (!relay.sampling) return forbidden("sampling");
    const json::object* s = object_at(client_caps, "sampling");
    if (!s) return undeclared("sampling");
    if ((params.contains("tools") || params.contains("toolChoice")) && !object_at(*s, "tools"))
      return undeclared("sampling.tools");
    return std::nullopt;
  }
  if (method == "elicitation/create") {
    if (!relay.elicitation) return forbidden("elicitation");
    const json::object* e = object_at(client_caps, "elicitation");
    if (!e) return undeclared("elicitation");
    std::string mode = "form";
    if (auto* m = params.if_contains("mode"); m && m->is_string()) mode = m->get_string();
    if (mode != "form" && mode != "url") return fmt::format("unknown elicitation mode '{}'", mode);
    // {} is form only (the 2025-06-18 shape); otherwise each mode is named.
    bool ok = mode == "form" ? e->empty() || e->contains("form") : e->contains("url");
    if (!ok) return undeclared("elicitation." + mode);
    return std::nullopt;
  }
  if (method == "roots/list") {
    if (!relay.roots) return forbidden("roots");
    if (!object_at(client_caps, "roots")) return undeclared("roots");
    return std::nullopt;
  }
  return fmt::format("{} is not a request Bastion relays to clients", method);
}

json::object upstream_client_capabilities(const RelayOptions& relay, bool per_session) {
  json::object caps;
  if (relay.sampling) caps["sampling"] = json::object{};
  if (relay.elicitation) caps["elicitation"] = json::object{};
  if (relay.roots) {
    json::object roots;
    if (per_session) roots["listChanged"] = true;
    caps["roots"] = std::move(roots);
  }
  return caps;
}

RelayOptions declared_for(const RelayOptions& relay, const json::object& client_caps) {
  RelayOptions d;
  d.sampling = relay.sampling && object_at(client_caps, "sampling");
  const json::object* e = object_at(client_caps, "elicitation");
  // {} is form only (2025-06-18); a client naming modes must name form.
  d.elicitation = relay.elicitation && e && (e->empty() || e->contains("form"));
  d.roots = relay.roots && object_at(client_caps, "roots");
  return d;
}

std::string capability_set_name(const RelayOptions& declared) {
  std::string out;
  auto add = [&](bool on, std::string_view what) {
    if (!on) return;
    if (!out.empty()) out += '+';
    out += what;
  };
  add(declared.sampling, "sampling");
  add(declared.elicitation, "elicitation");
  add(declared.roots, "roots");
  return out.empty() ? "none" : out;
}

}  // namespace bastion::gateway
