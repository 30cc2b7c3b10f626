// application/x-www-form-urlencoded: the one reader and writer of form
// bodies and query strings, built on Boost.URL. Browsers' forms (several
// values per name allowed: a list of checkboxes) and OAuth requests (whose
// stricter reading, RFC 6749 §3.1-3.2, auth::parse_form builds on this one)
// both go through it. '+' is a space; a bad %-escape, too large a body or too
// many fields is an error value. Like the WHATWG form parser, raw characters
// a URL would have escaped (a space, UTF-8) are taken as they are: only the
// %-escapes must be valid.
//
//   auto form = protocol::parse_form(req.body());
//   if (!form) return bad_request();
//   const std::string* id = form->get("id");
//   std::vector<std::string> scopes = form->all("scope");
//
// Thread-safety: values and free functions only; reentrant.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bastion::protocol {

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
  // No limit: for callers that bound the body themselves.
  static constexpr FormLimits none() {
    return {std::numeric_limits<std::size_t>::max(), std::numeric_limits<std::size_t>::max()};
  }
};

// Parses a form body (or a query string without '?'); empty parts
// ("a=1&&b=2") are skipped. nullopt when it is too large, has too many
// fields or a bad %-escape.
std::optional<FormData> parse_form(std::string_view body, const FormLimits& limits = {});

// The query of a request target ("/p?a=1" -> form of "a=1"); an empty form
// when there is no query; nullopt when the query is malformed.
std::optional<FormData> parse_query(std::string_view target, const FormLimits& limits = {});

// Decodes one component ('+' is a space); nullopt on a bad %-escape.
std::optional<std::string> form_decode(std::string_view component);

// RFC 3986 percent-encoding of everything but the unreserved characters: a
// query or form value, or a path segment.
std::string url_encode(std::string_view s);
// A form body or query ("a=1&b=x%20y") from name/value pairs, both sides
// url_encode'd. A pair with an empty value is left out (OAuth reads an empty
// parameter as an omitted one, RFC 6749 §3.1).
std::string encode_form(const std::vector<std::pair<std::string, std::string>>& fields);

// The path of a request target, without query or fragment.
std::string_view target_path(std::string_view target);

}  // namespace bastion::protocol
