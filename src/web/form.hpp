// HTML form posts and query strings (application/x-www-form-urlencoded, as
// browsers send them): several values per name are allowed (a list of
// checkboxes), '+' is a space, and a malformed body is an error value.
//
//   auto form = web::parse_form(req.body());
//   if (!form) return bad_request();
//   const std::string* id = form->get("id");
//   std::vector<std::string> scopes = form->all("scope");
//
// Thread-safety: values and free functions only; reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bastion::web {

class FormData {
 public:
  std::vector<std::pair<std::string, std::string>> fields;
  // The value of a name that appears exactly once; nullptr when it is
  // absent or repeated (a repeated single-valued field is an attack or a bug).
  const std::string* get(std::string_view name) const;
  // Every value of `name`, in order.
  std::vector<std::string> all(std::string_view name) const;
};

struct FormLimits {
  std::size_t max_bytes = 64 * 1024;
  std::size_t max_fields = 256;
};

// Parses a form body (or a query string without '?'). nullopt when it is
// too large, has too many fields or a bad %-escape.
std::optional<FormData> parse_form(std::string_view body, const FormLimits& limits = {});

// The query of a request target ("/p?a=1" -> form of "a=1"); an empty form
// when there is no query; nullopt when the query is malformed.
std::optional<FormData> parse_query(std::string_view target, const FormLimits& limits = {});

// RFC 3986 percent-encoding of everything but the unreserved characters: a
// query or form value, or a path segment.
std::string url_encode(std::string_view s);
// A form body or query ("a=1&b=x%20y") from name/value pairs, both sides
// url_encode'd. A pair with an empty value is left out (OAuth reads an empty
// parameter as an omitted one, RFC 6749 §3.1).
std::string encode_form(const std::vector<std::pair<std::string, std::string>>& fields);

// The path of a request target, without query or fragment.
std::string_view target_path(std::string_view target);

}  // namespace bastion::web
