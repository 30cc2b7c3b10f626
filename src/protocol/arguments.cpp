// Tool argument checks against the top level of a JSON Schema.
#include "protocol/arguments.hpp"

#include <fmt/format.h>

namespace bastion::protocol {

namespace json = boost::json;

namespace {
bool type_matches(std::string_view type, const json::value& v) {
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer")
    return v.is_int64() || v.is_uint64() ||
           (v.is_double() &&
            v.get_double() == static_cast<double>(static_cast<long long>(v.get_double())));
  if (type == "boolean") return v.is_bool();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "null") return v.is_null();
  return true;
}
}  // namespace

std::string check_arguments(const json::object& schema, const json::object& args) {
  if (auto* req = schema.if_contains("required"); req && req->is_array())
    for (const auto& r : req->get_array())
      if (r.is_string() && !args.contains(r.get_string()))
        return fmt::format("missing required argument '{}'", std::string_view(r.get_string()));
  auto* props = schema.if_contains("properties");
  if (!props || !props->is_object()) return {};
  for (const auto& [k, v] : args) {
    auto* p = props->get_object().if_contains(k);
    if (!p || !p->is_object()) continue;
    auto* t = p->get_object().if_contains("type");
    if (t && t->is_string() && !type_matches(t->get_string(), v))
      return fmt::format("argument '{}' must be of type {}", std::string_view(k),
                         std::string_view(t->get_string()));
  }
  return {};
}

}  // namespace bastion::protocol
