#include "gateway/catalogue.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

#include "gateway/definition.hpp"
#include "protocol/base64.hpp"
#include "protocol/param_headers.hpp"
#include "protocol/printable.hpp"
#include "protocol/sha256.hpp"

namespace bastion::gateway {

namespace json = boost::json;
using server::Kind;

std::string exposed_name(std::string_view prefix, std::string_view name) {
  std::string full = prefix.empty()
                         ? std::string(name)
                         : std::string(prefix) + std::string(kSeparator) + std::string(name);
  if (full.size() <= kMaxToolName) return full;
  std::string tail = "_" + protocol::hex_encode(protocol::sha256(full).substr(0, 4));
  return full.substr(0, kMaxToolName - tail.size()) + tail;
}

bool under_prefix(std::string_view key, std::string_view prefix) {
  return !prefix.empty() && key.size() > prefix.size() + kSeparator.size() &&
         key.starts_with(prefix) && key.substr(prefix.size()).starts_with(kSeparator);
}

namespace {

bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// Zero-width and bidi formatting characters: they make text read differently
// from what it is (U+061C, U+200B-U+200F, U+202A-U+202E, U+2060-U+206F, U+FEFF).
bool invisible(std::uint32_t cp) {
  return cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff;
}

// Longest prefix of `s` of at most `max` bytes that ends on a UTF-8 boundary.
std::size_t utf8_cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s.size();
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return n;
}

std::string_view key_field(Kind k) {
  return k == Kind::kResource ? "uri" : k == Kind::kResourceTemplate ? "uriTemplate" : "name";
}

std::string shown(const json::value* v) {
  if (!v) return "(none)";
  if (v->is_string()) return protocol::printable(v->get_string());
  return protocol::printable(json::serialize(*v));
}

}  // namespace

std::optional<std::string> name_problem(const json::value& name) {
  if (!name.is_string()) return "the name is not a string";
  std::string_view n = name.get_string();
  if (n.empty()) return "the name is empty";
  if (n.size() > kMaxOriginalName)
    return fmt::format("the name is {} characters long (at most {})", n.size(), kMaxOriginalName);
  for (char c : n)
    if (!name_char(c)) return "the name has characters other than A-Z, a-z, 0-9, '_', '-' and '.'";
  return std::nullopt;
}

std::optional<std::string> uri_problem(const json::value& uri, bool is_template) {
  if (!uri.is_string()) return "the URI is not a string";
  std::string_view u = uri.get_string();
  if (u.empty()) return "the URI is empty";
  if (u.size() > kMaxUri)
    return fmt::format("the URI is {} bytes long (at most {})", u.size(), kMaxUri);
  auto colon = u.find(':');
  bool scheme = colon != std::string_view::npos && colon > 0 &&
                ((u[0] >= 'A' && u[0] <= 'Z') || (u[0] >= 'a' && u[0] <= 'z'));
  for (std::size_t i = 1; scheme && i < colon; ++i) {
    char c = u[i];
    scheme = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '+' || c == '-' || c == '.';
  }
  // A template may begin with an expression ("{+uri}"): it can then expand
  // to other servers' URIs, which the gateway's ownership check handles.
  if (!scheme && !(is_template && u.starts_with('{'))) return "the URI has no scheme";
  for (std::size_t i = 0; i < u.size();) {
    auto c = static_cast<unsigned char>(u[i]);
    if (c <= 0x20 || c == 0x7f) return "the URI has whitespace or control characters";
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Boost.JSON has checked the UTF-8: decode to look for invisible characters.
    std::size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    std::uint32_t cp = c & (0xff >> (len + 1));
    for (std::size_t k = 1; k < len && i + k < u.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(u[i + k]) & 0x3f);
    if (invisible(cp) || (cp >= 0x80 && cp < 0xa0))
      return "the URI has invisible formatting or control characters";
    i += len;
  }
  return std::nullopt;
}

AdmittedCatalogue admit(Kind kind, std::vector<json::object> items, std::string_view prefix,
                        const CatalogueLimits& limits) {
  AdmittedCatalogue out;
  const bool named = kind == Kind::kTool || kind == Kind::kPrompt;
  auto refuse = [&](const json::value* key, std::string reason) {
    out.notes.push_back(CatalogueNote{kind, shown(key), std::move(reason), true});
  };
  // Pass 1: each entry on its own.
  std::vector<CatalogueEntry> candidates;
  for (auto& item : items) {
    const json::value* key = item.if_contains(key_field(kind));
    json::value none;
    auto problem = named ? name_problem(key ? *key : none)
                         : uri_problem(key ? *key : none, kind == Kind::kResourceTemplate);
    if (problem) {
      refuse(key, *problem);
      continue;
    }
    std::string original(key->get_string());
    std::vector<protocol::ParamHeader> param_headers;
    if (kind == Kind::kTool)
      if (auto* schema = item.if_contains("inputSchema")) {
        // Streamable HTTP clients must drop such a tool from tools/list (spec
        // 2026-07-28): Bastion does it for every client behind it.
        auto headers = protocol::param_headers(*schema);
        if (headers.problem) {
          refuse(key, "invalid x-mcp-header: " + *headers.problem);
          continue;
        }
        param_headers = std::move(headers.headers);
      }
    json::object definition =
        kind == Kind::kResource ? json::object{} : pinned_definition(kind, item);
    for (std::string_view field : {"description", "title"}) {
      auto* v = item.if_contains(field);
      if (!v || !v->is_string() || v->get_string().size() <= limits.max_description) continue;
      std::string_view text = v->get_string();
      std::string cut(text.substr(0, utf8_cut(text, limits.max_description)));
      cut += fmt::format(" [... cut by Bastion: {} bytes]", text.size());
      out.notes.push_back(CatalogueNote{
          kind, protocol::printable(original),
          fmt::format("{} cut from {} bytes to {}", field, text.size(), limits.max_description),
          false});
      *v = json::string(cut);
    }
    json::object rest = item;
    rest.erase("description");
    if (std::size_t size = json::serialize(rest).size(); size > limits.max_schema) {
      refuse(key, fmt::format("the entry is {} bytes without its description (max_schema {})", size,
                              limits.max_schema));
      continue;
    }
    std::string exposed = named ? exposed_name(prefix, original) : original;
    if (named) {
      item["name"] = exposed;
      if (!prefix.empty() && !item.contains("title")) item["title"] = original;
    }
    candidates.push_back(CatalogueEntry{std::move(item), std::move(original), std::move(exposed),
                                        std::move(definition), std::move(param_headers)});
  }
  // Pass 2: a name declared twice, or two that expose as one, is refused
  // both times (which one was meant is unknowable).
  std::map<std::string, int, std::less<>> originals, exposed;
  for (auto& c : candidates) {
    ++originals[c.original];
    ++exposed[c.exposed];
  }
  std::set<std::string> reported;
  for (auto& c : candidates) {
    if (originals[c.original] > 1) {
      if (reported.insert(c.original).second) {
        json::value k(c.original);
        refuse(&k, fmt::format("declared {} times", originals[c.original]));
      }
      continue;
    }
    if (exposed[c.exposed] > 1) {
      json::value k(c.original);
      refuse(&k, "its exposed name '" + c.exposed + "' is also another entry's");
      continue;
    }
    out.entries.push_back(std::move(c));
  }
  return out;
}

}  // namespace bastion::gateway
