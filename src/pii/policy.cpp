// The PII policy's configuration: reading the `pii:` section into
// PolicyOptions and resolving it for one server, tool and direction
// (ResolvedPolicy). Applying a resolved policy to a message is in
// policy_apply.cpp.
#include "pii/policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <cmath>
#include <stdexcept>

namespace bastion::pii {

using boost::beast::iequals;  // ASCII, as the names compared are

namespace json = boost::json;

std::string_view to_string(PiiAction a) {
  switch (a) {
    case PiiAction::kAllow:
      return "allow";
    case PiiAction::kMask:
      return "mask";
    case PiiAction::kEncrypt:
      return "encrypt";
    case PiiAction::kReject:
      return "reject";
  }
  return "mask";
}

std::optional<PiiAction> parse_action(std::string_view s) {
  if (s == "allow") return PiiAction::kAllow;
  if (s == "mask") return PiiAction::kMask;
  if (s == "encrypt") return PiiAction::kEncrypt;
  if (s == "reject") return PiiAction::kReject;
  return std::nullopt;
}

std::string_view to_string(Direction d) {
  return d == Direction::kRequest ? "request" : "response";
}

namespace {

[[noreturn]] void bad(const std::string& path, std::string_view what) {
  throw std::invalid_argument(fmt::format("{}: {}", path, what));
}

PiiAction action_at(const json::value& v, const std::string& path) {
  if (!v.is_string()) bad(path, "must be one of allow, mask, encrypt, reject");
  auto a = parse_action(v.get_string());
  if (!a)
    bad(path, fmt::format("unknown action '{}' (allow, mask, encrypt, reject)",
                          std::string_view(v.get_string())));
  return *a;
}

const json::object& object_at(const json::value& v, const std::string& path) {
  if (!v.is_object()) bad(path, "must be an object");
  return v.get_object();
}

// A rule: "mask" or {action: "mask", types: {...}}; `extra` lists keys the
// caller handles itself.
void parse_rule(PolicyRule& r, const json::value& v, const std::string& path,
                std::initializer_list<std::string_view> extra = {}) {
  if (v.is_string()) {
    r.action = action_at(v, path);
    return;
  }
  const json::object& o = object_at(v, path);
  for (const auto& [k, val] : o) {
    std::string sub = fmt::format("{}.{}", path, std::string_view(k));
    if (k == "action") {
      r.action = action_at(val, sub);
    } else if (k == "types") {
      for (const auto& [t, a] : object_at(val, sub))
        r.types[std::string(t)] = action_at(a, fmt::format("{}.{}", sub, std::string_view(t)));
    } else if (std::find(extra.begin(), extra.end(), std::string_view(k)) == extra.end()) {
      bad(sub, "unknown key");
    }
  }
}

void parse_directions(PolicyScope& s, const json::value& v, const std::string& path) {
  for (const auto& [k, val] : object_at(v, path)) {
    std::string sub = fmt::format("{}.{}", path, std::string_view(k));
    if (k == "request")
      parse_rule(s.request, val, sub);
    else if (k == "response")
      parse_rule(s.response, val, sub);
    else
      bad(sub, "unknown direction (request, response)");
  }
}

PolicyScope parse_scope(const json::value& v, const std::string& path,
                        std::map<std::string, PolicyScope, std::less<>>* tools = nullptr) {
  PolicyScope s;
  if (tools)
    parse_rule(s.all, v, path, {"directions", "tools"});
  else
    parse_rule(s.all, v, path, {"directions"});
  if (!v.is_object()) return s;
  const json::object& o = v.get_object();
  if (const json::value* d = o.if_contains("directions"))
    parse_directions(s, *d, path + ".directions");
  if (const json::value* t = o.if_contains("tools")) {
    for (const auto& [name, tv] : object_at(*t, path + ".tools"))
      (*tools)[std::string(name)] =
          parse_scope(tv, fmt::format("{}.tools.{}", path, std::string_view(name)));
  }
  return s;
}

bool rule_uses(const PolicyRule& r, PiiAction a) {
  if (r.action == a) return true;
  for (const auto& [t, x] : r.types)
    if (x == a) return true;
  return false;
}
bool scope_uses(const PolicyScope& s, PiiAction a) {
  return rule_uses(s.all, a) || rule_uses(s.request, a) || rule_uses(s.response, a);
}

}  // namespace

PolicyOptions policy_options_from_json(const json::object& o) {
  PolicyOptions p;
  const std::string root = "pii";
  for (const auto& [k, v] : o) {
    std::string path = fmt::format("{}.{}", root, std::string_view(k));
    if (k == "default") {
      p.default_action = action_at(v, path);
    } else if (k == "types") {
      for (const auto& [t, a] : object_at(v, path))
        p.global.all.types[std::string(t)] =
            action_at(a, fmt::format("{}.{}", path, std::string_view(t)));
    } else if (k == "directions") {
      parse_directions(p.global, v, path);
    } else if (k == "servers") {
      for (const auto& [name, sv] : object_at(v, path)) {
        ServerPolicy& sp = p.servers[std::string(name)];
        sp.scope = parse_scope(sv, fmt::format("{}.{}", path, std::string_view(name)), &sp.tools);
      }
    } else if (k == "tools") {
      for (const auto& [name, tv] : object_at(v, path))
        p.tools[std::string(name)] =
            parse_scope(tv, fmt::format("{}.{}", path, std::string_view(name)));
    } else if (k == "min_confidence") {
      if (!v.is_number()) bad(path, "must be a number within 0..1");
      p.min_confidence = v.to_number<double>();
      if (p.min_confidence < 0 || p.min_confidence > 1) bad(path, "must be a number within 0..1");
    } else if (k == "pattern_files") {
      if (!v.is_array()) bad(path, "must be an array of file paths");
      for (const auto& f : v.get_array()) {
        if (!f.is_string()) bad(path, "must be an array of file paths");
        p.pattern_files.emplace_back(f.get_string());
      }
    } else if (k == "mask") {
      for (const auto& [mk, mv] : object_at(v, path)) {
        std::string sub = fmt::format("{}.{}", path, std::string_view(mk));
        if (mk == "keep_email_domain") {
          if (!mv.is_bool()) bad(sub, "must be true or false");
          p.mask.keep_email_domain = mv.get_bool();
        } else if (mk == "redact_types") {
          if (!mv.is_array()) bad(sub, "must be an array of type names");
          for (const auto& t : mv.get_array()) {
            if (!t.is_string()) bad(sub, "must be an array of type names");
            p.mask.redact_types.emplace_back(t.get_string());
          }
        } else {
          bad(sub, "unknown key");
        }
      }
    } else {
      bad(path, "unknown key");
    }
  }
  return p;
}

bool policy_uses(const PolicyOptions& o, PiiAction a) {
  if (o.default_action == a || scope_uses(o.global, a)) return true;
  for (const auto& [n, s] : o.servers) {
    if (scope_uses(s.scope, a)) return true;
    for (const auto& [t, ts] : s.tools)
      if (scope_uses(ts, a)) return true;
  }
  for (const auto& [n, s] : o.tools)
    if (scope_uses(s, a)) return true;
  return false;
}

ResolvedPolicy::ResolvedPolicy(const PolicyOptions& o, std::string_view server,
                               std::string_view tool, Direction d)
    : options_(&o), direction_(d) {
  auto push = [&](const PolicyScope& s) {
    levels_[n_++] = &s.direction(d);
    levels_[n_++] = &s.all;
  };
  auto srv = o.servers.find(server);
  if (srv != o.servers.end() && !tool.empty()) {
    if (auto t = srv->second.tools.find(tool); t != srv->second.tools.end()) push(t->second);
  }
  if (!tool.empty()) {
    if (auto t = o.tools.find(tool); t != o.tools.end()) push(t->second);
  }
  if (srv != o.servers.end()) push(srv->second.scope);
  push(o.global);
}

PiiAction ResolvedPolicy::action_for(std::string_view type) const {
  for (std::size_t i = 0; i < n_; ++i)
    if (auto it = levels_[i]->types.find(type); it != levels_[i]->types.end()) return it->second;
  PiiAction generic = options_->default_action;
  for (std::size_t i = 0; i < n_; ++i) {
    if (levels_[i]->action) {
      generic = *levels_[i]->action;
      break;
    }
  }
  // What was not examined cannot be masked or encrypted.
  if (type == pii::kOverflow && generic != PiiAction::kAllow) return PiiAction::kReject;
  return generic;
}

}  // namespace bastion::pii
