#include "protocol/param_headers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>

#include "protocol/base64.hpp"
#include "protocol/printable.hpp"

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

constexpr std::string_view kOpen = "=?base64?", kClose = "?=";
constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 field-value characters without obs-text: visible ASCII, SP, HTAB.
bool field_value_chars(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u <= 0x7e) || u == '\t';
  });
}

// Sent as it is: printable ASCII (no tab: a control character), nothing an
// HTTP parser would trim, nothing a server would take for the sentinel.
bool plain(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  if (!s.empty() && (s.front() == ' ' || s.back() == ' ')) return false;
  return !s.starts_with(kOpen);
}

// The value at the chain of `properties` keys `path` in the arguments.
const json::value* at_path(const json::value* args, const std::vector<std::string>& path) {
  const json::value* v = args;
  for (const auto& key : path) {
    if (!v || !v->is_object()) return nullptr;
    v = v->get_object().if_contains(key);
  }
  return v;
}

std::string arg_path(const std::vector<std::string>& path) {
  std::string out = "arguments";
  for (const auto& p : path) out += "." + p;
  return protocol::printable(out, 200);
}

// Decimal integer text -> Int (exact), nullopt when it is not one or overflows.
template <typename Int>
std::optional<Int> exact_integer(std::string_view s) {
  Int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// A JSON-number-shaped header value -> double (no inf, nan, hex or '+').
std::optional<double> number_text(std::string_view s) {
  if (s.empty() || !(s.front() == '-' || std::isdigit(static_cast<unsigned char>(s.front()))))
    return std::nullopt;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)) &&
        std::string_view("-+.eE").find(c) == std::string_view::npos)
      return std::nullopt;
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

// Whether the decoded header text stands for the body value.
bool matches(std::string_view text, const json::value& body) {
  switch (body.kind()) {
    case json::kind::string:
      return text == std::string_view(body.get_string());
    case json::kind::bool_:
      return text == (body.get_bool() ? "true" : "false");
    case json::kind::int64:
    case json::kind::uint64:
      // Integers beyond the double range's exact part compare exactly.
      // (Boost.JSON reads an integer above INT64_MAX as uint64.)
      if (body.is_int64()) {
        if (auto i = exact_integer<std::int64_t>(text)) return *i == body.get_int64();
      } else if (auto u = exact_integer<std::uint64_t>(text)) {
        return *u == body.get_uint64();
      }
      [[fallthrough]];
    case json::kind::double_: {
      auto h = number_text(text);
      double b = body.is_double()  ? body.get_double()
                 : body.is_int64() ? static_cast<double>(body.get_int64())
                                   : static_cast<double>(body.get_uint64());
      // Beyond 2^53 distinct integers share a double: no numeric match there.
      return h && std::fabs(*h) <= kMaxSafe && std::fabs(b) <= kMaxSafe && *h == b;
    }
    default:  // objects, arrays: no header form
      return false;
  }
}

}  // namespace

Expected<std::string, HeaderProblem> encode_header_value(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return encode_header_text(v.get_string());
    case json::kind::bool_:
      return std::string(v.get_bool() ? "true" : "false");
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    case json::kind::double_: {
      double d = v.get_double();
      if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) <= kMaxSafe)
        return std::to_string(static_cast<std::int64_t>(d));
      return HeaderProblem{"a fractional or out-of-range number has no header form"};
    }
    case json::kind::object:
      return HeaderProblem{"an object has no header form"};
    case json::kind::array:
      return HeaderProblem{"an array has no header form"};
    case json::kind::null:
      break;
  }
  return HeaderProblem{"null has no header form"};
}

std::string encode_header_text(std::string_view s) {
  if (plain(s)) return std::string(s);
  return std::string(kOpen) + base64_encode(s) + std::string(kClose);
}

std::optional<std::string> decode_header_value(std::string_view v) {
  if (v.size() >= kOpen.size() + kClose.size() && v.starts_with(kOpen) && v.ends_with(kClose))
    return base64_decode(v.substr(kOpen.size(), v.size() - kOpen.size() - kClose.size()));
  return std::string(v);
}

Expected<std::vector<std::pair<std::string, std::string>>, HeaderProblem> mirror_param_headers(
    const std::vector<ParamHeader>& annotations, const json::value* arguments) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t total = 0;
  for (const auto& a : annotations) {
    const json::value* v = at_path(arguments, a.path);
    if (!v || v->is_null()) continue;  // spec: the header is omitted
    auto value = encode_header_value(*v);
    if (!value)
      return HeaderProblem{fmt::format("{} cannot be mirrored into Mcp-Param-{}: {}",
                                       arg_path(a.path), a.name, value.reason())};
    std::string name = std::string(kParamHeaderPrefix) + a.name;
    total += name.size() + value->size();
    if (value->size() > kMaxParamHeaderValue || total > kMaxParamHeaderTotal)
      return HeaderProblem{fmt::format(
          "{} is too long to mirror into Mcp-Param-{} ({} bytes encoded; at most {} per header "
          "and {} in all)",
          arg_path(a.path), a.name, value->size(), kMaxParamHeaderValue, kMaxParamHeaderTotal)};
    out.emplace_back(std::move(name), std::move(value.value()));
  }
  return out;
}

std::optional<std::string> check_param_headers(const std::vector<ParamHeader>& annotations,
                                               const ReceivedParamHeaders& received,
                                               const json::value* arguments) {
  std::vector<const std::string*> sent(annotations.size(), nullptr);
  for (const auto& entry : received) {
    const auto& [name, value] = entry;
    // (the lambda names entry.first: clang 14 cannot capture a structured binding)
    auto it = std::find_if(annotations.begin(), annotations.end(), [&](const ParamHeader& a) {
      return boost::beast::iequals(a.name, entry.first);
    });
    if (it == annotations.end())
      return fmt::format("Mcp-Param-{} names no x-mcp-header parameter of this tool",
                         protocol::printable(name, 64));
    auto i = static_cast<std::size_t>(it - annotations.begin());
    if (sent[i]) return fmt::format("Mcp-Param-{} appears more than once", it->name);
    sent[i] = &value;
  }
  for (std::size_t i = 0; i < annotations.size(); ++i) {
    const auto& a = annotations[i];
    const json::value* body = at_path(arguments, a.path);
    if (!body || body->is_null()) {
      if (sent[i])
        return fmt::format("Mcp-Param-{} header without a value at {} in the body", a.name,
                           arg_path(a.path));
      continue;
    }
    if (!sent[i])
      return fmt::format("the Mcp-Param-{} header is required: {} has a value", a.name,
                         arg_path(a.path));
    std::string_view v = trim_ows(*sent[i]);
    if (!field_value_chars(v)) return fmt::format("Mcp-Param-{} holds invalid characters", a.name);
    auto decoded = decode_header_value(v);
    if (!decoded) return fmt::format("Mcp-Param-{} is not valid Base64", a.name);
    if (!matches(*decoded, *body))
      return fmt::format("Mcp-Param-{} header does not match {} in the body", a.name,
                         arg_path(a.path));
  }
  return std::nullopt;
}

ParamHeaders param_headers(const json::value& input_schema) {
  Walker w;
  std::vector<std::string> path;
  w.walk(input_schema, path, 0);
  if (w.out.problem) w.out.headers.clear();
  return std::move(w.out);
}

}  // namespace bastion::protocol
