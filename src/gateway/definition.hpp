// What Bastion pins of a catalogue entry, its hash and the difference between
// two versions of it. Pure functions.
//
//   definition  the fields a client shows its model: tools name, title,
//               description, inputSchema, outputSchema, annotations;
//               prompts name, title, description, arguments; resource
//               templates uriTemplate, name, title, description, mimeType,
//               annotations. Taken as the server sent them (its own name,
//               the whole description), before Bastion exposes them.
//   hash        SHA-256 (hex) of the definition as canonical JSON (object
//               keys sorted at every level), so the order a server happens
//               to serialize keys in is not a change.
//   diff        one change per JSON Pointer path where the two differ.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/route.hpp"

namespace bastion::gateway {

// The pinned part of `item` (a tools/list, prompts/list or
// resources/templates/list entry of kind `kind`).
boost::json::object pinned_definition(server::Kind kind, const boost::json::object& item);

// `v` serialized with object keys sorted at every level.
std::string canonical_json(const boost::json::value& v);
// Lowercase hex SHA-256 of canonical_json(definition).
std::string definition_hash(const boost::json::object& definition);

struct DefinitionChange {
  std::string path;  // JSON Pointer ("/description", "/inputSchema/required/0")
  std::optional<boost::json::value> before;  // absent: added
  std::optional<boost::json::value> after;   // absent: removed
};

// Where `after` differs from `before`, in path order. Arrays compare element
// by element (a longer one adds, a shorter one removes its tail).
std::vector<DefinitionChange> diff_definitions(const boost::json::value& before,
                                               const boost::json::value& after);

// The changes as lines for a terminal ("~ /description", "- old", "+ new").
// Strings are shown printable (control and invisible characters escaped).
std::string render_diff(const std::vector<DefinitionChange>& changes);

// "tool", "prompt", "resource template", "resource".
std::string_view kind_label(server::Kind kind);
// Parses kind_label()'s output; nullopt for anything else.
std::optional<server::Kind> kind_from_label(std::string_view label);

}  // namespace bastion::gateway
