// OAuth's reading of a form (on protocol::parse_form) and its encoding.
#include "auth/form.hpp"

#include <algorithm>
#include <boost/url/encode.hpp>
#include <boost/url/grammar/alnum_chars.hpp>
#include <boost/url/grammar/lut_chars.hpp>

#include "protocol/base64.hpp"
#include "protocol/form.hpp"

namespace bastion::auth {

const std::string* form_get(const Form& f, std::string_view name) {
  for (const auto& [k, v] : f)
    if (k == name) return &v;
  return nullptr;
}

std::string form_encode(std::string_view s) {
  // What the HTML form encoder leaves as it is (everything else %XX, a space '+').
  static constexpr auto kPlain = boost::urls::grammar::alnum_chars + boost::urls::grammar::lut_chars("-._*");
  boost::urls::encoding_opts opt;
  opt.space_as_plus = true;
  return boost::urls::encode(s, kPlain, opt);
}

std::string basic_authorization(std::string_view id, std::string_view secret) {
  return "Basic " + protocol::base64_encode(form_encode(id) + ":" + form_encode(secret));
}

std::optional<Form> parse_form(std::string_view body, std::string* error) {
  auto parsed = protocol::parse_form(body, protocol::FormLimits::none());
  if (!parsed) {
    if (error) *error = "malformed form encoding";
    return std::nullopt;
  }
  Form out = std::move(parsed->fields);
  // RFC 6749 §3.2: no parameter more than once (even an empty one).
  for (auto it = out.begin(); it != out.end(); ++it)
    if (std::any_of(out.begin(), it, [&](const auto& kv) { return kv.first == it->first; })) {
      if (error) *error = "parameter '" + it->first + "' is repeated";
      return std::nullopt;
    }
  // RFC 6749 §3.1: parameters without a value are treated as omitted.
  std::erase_if(out, [](const auto& kv) { return kv.second.empty(); });
  return out;
}

}  // namespace bastion::auth
