// JSON text out: what Bastion writes on every wire (HTTP bodies, SSE events,
// stdio lines, requests to upstreams). Same output as Boost.JSON's serializer
// except for floating-point numbers, which are written in their shortest
// round-trip form ("7.4", not Boost 1.81's "7.4E0"): a number an upstream or
// a client wrote reaches the other side as it was written whenever that form
// is the shortest one, and always with the same value.
//
// Pure functions; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace bastion::protocol {

// Appends the JSON text of `v` to `out`. Never throws except std::bad_alloc.
// Non-finite doubles (only code can make them; JSON cannot carry them) are
// written as null.
void append_json(std::string& out, const boost::json::value& v);

// The same for an object, read where it is (a json::object passed where a
// json::value is taken would be copied whole first).
void append_json(std::string& out, const boost::json::object& o);

// Appends `s` as a JSON string: quoted and escaped as Boost.JSON does.
void append_json_string(std::string& out, std::string_view s);

// The JSON text of `v` (append_json to an empty string).
std::string json_text(const boost::json::value& v);
std::string json_text(const boost::json::object& o);

}  // namespace bastion::protocol
