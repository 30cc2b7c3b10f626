#include "protocol/param_headers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <set>

namespace bastion::protocol {

namespace json = boost::json;

namespace {

constexpr std::string_view kKey = "x-mcp-header";
constexpr std::size_t kMaxDepth = 64;

// RFC 9110 tchar.
bool tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string shown_path(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& p : path) out += (out.empty() ? "" : ".") + p;
  return out.empty() ? "(root)" : out;
}

struct Walker {
  ParamHeaders out;
  std::set<std::string> seen;  // lowercased names

  void fail(std::string why) {
    if (!out.problem) out.problem = std::move(why);
  }

  // Any x-mcp-header under `v` is misplaced (not on a properties chain).
  void forbid(const json::value& v, std::size_t depth) {
    if (out.problem) return;
    if (depth > kMaxDepth) {
      // Not searched any deeper: an annotation could hide there.
      fail("the inputSchema is nested too deeply");
      return;
    }
    if (v.is_object()) {
      for (const auto& kv : v.get_object()) {
        if (kv.key() == kKey) {
          fail("x-mcp-header on a parameter not reachable through `properties` alone");
          return;
        }
        forbid(kv.value(), depth + 1);
      }
    } else if (v.is_array()) {
      for (const auto& e : v.get_array()) forbid(e, depth + 1);
    }
  }

  // `schema` sits at `path` on a properties chain (the root: empty path).
  void walk(const json::value& schema, std::vector<std::string>& path, std::size_t depth) {
    if (out.problem) return;
    if (depth > kMaxDepth) {
      fail("the inputSchema is nested too deeply");
      return;
    }
    if (!schema.is_object()) return;
    const auto& o = schema.get_object();
    for (const auto& kv : o) {
      if (kv.key() == kKey) {
        annotate(o, kv.value(), path);
      } else if (kv.key() == "properties" && kv.value().is_object()) {
        for (const auto& prop : kv.value().get_object()) {
          path.emplace_back(prop.key());
          walk(prop.value(), path, depth + 1);
          path.pop_back();
        }
      } else {
        forbid(kv.value(), depth + 1);
      }
    }
  }

  void annotate(const json::object& schema, const json::value& value,
                const std::vector<std::string>& path) {
    if (path.empty()) return fail("x-mcp-header on the schema root");
    if (!value.is_string())
      return fail(fmt::format("x-mcp-header of {} is not a string", shown_path(path)));
    std::string_view name = value.get_string();
    if (name.empty()) return fail(fmt::format("x-mcp-header of {} is empty", shown_path(path)));
    if (name.size() > 128 || !std::all_of(name.begin(), name.end(), tchar))
      return fail(
          fmt::format("x-mcp-header of {} is not an HTTP field-name token", shown_path(path)));
    if (!seen.insert(lower(name)).second)
      return fail(
          fmt::format("x-mcp-header '{}' is used twice (names compare case-insensitively)", name));
    auto* type = schema.if_contains("type");
    std::string_view t = type && type->is_string() ? std::string_view(type->get_string()) : "";
    if (t != "string" && t != "integer" && t != "boolean")
      return fail(
          fmt::format("x-mcp-header of {} is on a parameter of type '{}' (only string, "
                      "integer or boolean)",
                      shown_path(path), t.empty() ? "unspecified" : t));
    out.headers.push_back(ParamHeader{std::string(name), path, std::string(t)});
  }
};

}  // namespace

ParamHeaders param_headers(const json::value& input_schema) {
  Walker w;
  std::vector<std::string> path;
  w.walk(input_schema, path, 0);
  if (w.out.problem) w.out.headers.clear();
  return std::move(w.out);
}

}  // namespace bastion::protocol
