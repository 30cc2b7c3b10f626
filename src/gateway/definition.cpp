#include "gateway/definition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "protocol/base64.hpp"
#include "protocol/json_pointer.hpp"
#include "protocol/printable.hpp"
#include "protocol/sha256.hpp"

namespace bastion::gateway {

namespace json = boost::json;
using server::Kind;

json::object pinned_definition(Kind kind, const json::object& item) {
  static const std::vector<std::string_view> kTool = {"name",        "title",        "description",
                                                      "inputSchema", "outputSchema", "annotations"};
  static const std::vector<std::string_view> kPrompt = {"name", "title", "description",
                                                        "arguments"};
  static const std::vector<std::string_view> kTemplate = {"uriTemplate", "name",     "title",
                                                          "description", "mimeType", "annotations"};
  static const std::vector<std::string_view> kResource = {"uri",         "name",     "title",
                                                          "description", "mimeType", "annotations"};
  const auto& fields = kind == Kind::kTool               ? kTool
                       : kind == Kind::kPrompt           ? kPrompt
                       : kind == Kind::kResourceTemplate ? kTemplate
                                                         : kResource;
  json::object out;
  for (auto f : fields)
    if (auto* v = item.if_contains(f)) out[f] = *v;
  return out;
}

namespace {

void canonical(const json::value& v, std::string& out) {
  if (v.is_object()) {
    const auto& o = v.get_object();
    std::vector<std::string_view> keys;
    for (auto& kv : o) keys.push_back(kv.key());
    std::sort(keys.begin(), keys.end());
    out += '{';
    bool first = true;
    for (auto k : keys) {
      if (!first) out += ',';
      first = false;
      out += json::serialize(json::string(k));
      out += ':';
      canonical(o.at(k), out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (auto& e : v.get_array()) {
      if (!first) out += ',';
      first = false;
      canonical(e, out);
    }
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

void diff(const json::value& a, const json::value& b, const std::string& path,
          std::vector<DefinitionChange>& out) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string, std::less<>> keys;
    for (auto& kv : a.get_object()) keys.insert(std::string(kv.key()));
    for (auto& kv : b.get_object()) keys.insert(std::string(kv.key()));
    for (auto& k : keys) {
      const json::value* x = a.get_object().if_contains(k);
      const json::value* y = b.get_object().if_contains(k);
      std::string p = path + "/" + protocol::json_pointer_token(k);
      if (x && y)
        diff(*x, *y, p, out);
      else if (x)
        out.push_back({p, *x, std::nullopt});
      else
        out.push_back({p, std::nullopt, *y});
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    for (std::size_t i = 0; i < std::max(x.size(), y.size()); ++i) {
      std::string p = path + "/" + std::to_string(i);
      if (i < x.size() && i < y.size())
        diff(x[i], y[i], p, out);
      else if (i < x.size())
        out.push_back({p, x[i], std::nullopt});
      else
        out.push_back({p, std::nullopt, y[i]});
    }
    return;
  }
  if (a != b) out.push_back({path.empty() ? "/" : path, a, b});
}

std::string shown(const json::value& v) {
  if (v.is_string()) return protocol::printable(v.get_string(), 4000);
  return protocol::printable(json::serialize(v), 4000);
}

}  // namespace

std::string canonical_json(const json::value& v) {
  std::string out;
  canonical(v, out);
  return out;
}

std::string definition_hash(const json::object& definition) {
  std::string text = canonical_json(definition);
  return protocol::hex_encode(protocol::sha256(text));
}

std::vector<DefinitionChange> diff_definitions(const json::value& before,
                                               const json::value& after) {
  std::vector<DefinitionChange> out;
  diff(before, after, "", out);
  return out;
}

std::string render_diff(const std::vector<DefinitionChange>& changes) {
  std::string out;
  for (const auto& c : changes) {
    char mark = !c.before ? '+' : !c.after ? '-' : '~';
    out += fmt::format("  {} {}\n", mark, protocol::printable(c.path));
    if (c.before) out += "    - " + shown(*c.before) + "\n";
    if (c.after) out += "    + " + shown(*c.after) + "\n";
  }
  return out;
}

std::string_view kind_label(Kind kind) {
  switch (kind) {
    case Kind::kTool:
      return "tool";
    case Kind::kPrompt:
      return "prompt";
    case Kind::kResourceTemplate:
      return "resource template";
    case Kind::kResource:
      return "resource";
  }
  return "?";
}

std::optional<Kind> kind_from_label(std::string_view label) {
  for (Kind k : {Kind::kTool, Kind::kPrompt, Kind::kResourceTemplate, Kind::kResource})
    if (kind_label(k) == label) return k;
  return std::nullopt;
}

}  // namespace bastion::gateway
