// application/x-www-form-urlencoded, as the OAuth endpoints read it (RFC 6749
// §3.1-3.2: no repeated parameters, empty ones count as omitted) and the
// token client writes it. Parsing and decoding are protocol/form's; this adds
// OAuth's rules on top.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bastion::auth {

using Form = std::vector<std::pair<std::string, std::string>>;

std::string form_encode(std::string_view s);
// The Authorization header value of client_secret_basic (RFC 6749 §2.3.1):
// "Basic " + base64(form_encode(id) ":" form_encode(secret)), as the token
// client and the federated login send it; parse_basic_credentials reads it.
std::string basic_authorization(std::string_view id, std::string_view secret);
// Parses a form body (unbounded: the endpoints bound it first); nullopt when
// malformed or a parameter repeats.
std::optional<Form> parse_form(std::string_view body, std::string* error);
// The value of `name`, or nullptr.
const std::string* form_get(const Form& f, std::string_view name);

}  // namespace bastion::auth
