// What Bastion accepts from an upstream's catalogue, and under which names
// it exposes it. Pure functions: an upstream's list goes in, the entries a
// client may see (with their exposed names) and the refusals come out.
//
//   names      tools and prompts: 1-128 characters of [A-Za-z0-9_.-] (the
//              tool-name rules of the MCP specification); anything else —
//              a non-string or empty name, NUL, bidi controls, markup,
//              "../" — is refused, never rewritten, so two bad names can
//              never collapse into one exposed name.
//   exposed    "<prefix>__<name>", or <name> for the one unprefixed server;
//              longer than 64 characters it keeps its first 55 and gets '_'
//              and 8 hex digits of the SHA-256 of the whole, so the prefix
//              (at most 40 characters, see options.cpp) is always intact.
//   URIs       resources and templates: a scheme (a template may instead
//              begin with an expression), at most 8 KiB, no whitespace,
//              control or invisible formatting characters.
//   unique     a name (or URI) a server declares twice, or two names that
//              expose as one, are refused both: which one was meant is
//              unknowable, and first-wins would let the server pick.
//   size       a description (or title) longer than max_description is cut
//              and marked; an entry whose schemas and other fields exceed
//              max_schema is refused.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/param_headers.hpp"
#include "server/route.hpp"

namespace bastion::gateway {

inline constexpr std::string_view kSeparator = "__";
inline constexpr std::size_t kMaxToolName = 64;       // exposed names (what clients accept)
inline constexpr std::size_t kMaxOriginalName = 128;  // the specification's tool-name limit
inline constexpr std::size_t kMaxPrefix = 40;
inline constexpr std::size_t kMaxUri = 8192;

// The exposed name of `name` from an upstream with `prefix`: "<prefix>__<name>",
// or `name` when the prefix is empty; over 64 characters it becomes the first
// 55 characters, '_' and 8 hex digits of the SHA-256 of the full name.
std::string exposed_name(std::string_view prefix, std::string_view name);

// Whether `key` lies in the namespace of `prefix` ("<prefix>__...").
bool under_prefix(std::string_view key, std::string_view prefix);

struct CatalogueLimits {
  std::size_t max_description = 64 * 1024;  // longer descriptions and titles are cut
  std::size_t max_schema =
      256 * 1024;  // an entry larger than this without its description is refused
};

// One entry a client may see.
struct CatalogueEntry {
  boost::json::object item;  // as listed to clients (exposed name, cut description)
  std::string original;      // its name (tools, prompts) or URI/template at the server
  std::string exposed;       // the name or URI clients use
  // What is pinned of it (definition.hpp), as the server sent it: its own
  // name, the whole description. Empty for resources (not pinned).
  boost::json::object definition;
  // A tool's x-mcp-header annotations (protocol/param_headers.hpp): what a
  // Modern client's Mcp-Param-* headers are checked against, and what
  // Bastion mirrors when it calls a Modern upstream over HTTP.
  std::vector<protocol::ParamHeader> param_headers;
};

// Something the server listed that Bastion does not pass on, or changed.
struct CatalogueNote {
  server::Kind kind;
  std::string name;     // as the server sent it, made printable
  std::string reason;   // "invalid name: ...", "declared twice", "description cut from N bytes"
  bool refused = true;  // false: kept, with a change (a cut description)
};

struct AdmittedCatalogue {
  std::vector<CatalogueEntry> entries;
  std::vector<CatalogueNote> notes;
};

// Why `name` is not an acceptable tool or prompt name (nullopt: it is).
std::optional<std::string> name_problem(const boost::json::value& name);
// Why `uri` is not an acceptable resource URI or URI template (nullopt: it is).
std::optional<std::string> uri_problem(const boost::json::value& uri, bool is_template = false);

// Checks one kind of one server's list and exposes what passes.
AdmittedCatalogue admit(server::Kind kind, std::vector<boost::json::object> items,
                        std::string_view prefix, const CatalogueLimits& limits);

}  // namespace bastion::gateway
