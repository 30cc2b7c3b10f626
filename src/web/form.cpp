#include "web/form.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/params_encoded_view.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace bastion::web {

const std::string* FormData::get(std::string_view name) const {
  const std::string* found = nullptr;
  for (const auto& [k, v] : fields) {
    if (k != name) continue;
    if (found) return nullptr;
    found = &v;
  }
  return found;
}

std::vector<std::string> FormData::all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields)
    if (k == name) out.push_back(v);
  return out;
}

std::optional<FormData> parse_form(std::string_view body, const FormLimits& limits) {
  if (body.size() > limits.max_bytes) return std::nullopt;
  FormData out;
  if (body.empty()) return out;
  // Boost 1.81's query parsing and params views read up to the end of the
  // underlying string, not of the view (the last value; parse_query even
  // runs strlen past it): a request target is a view into Beast's buffer,
  // which has no terminating NUL (an out-of-bounds read under ASan). Both
  // steps get a copy that ends where the view ends.
  const std::string copy(body);
  // Validate first: the decoding view's constructor throws on bad input.
  if (!boost::urls::parse_query(copy)) return std::nullopt;
  boost::urls::encoding_opts opt;
  opt.space_as_plus = true;
  boost::urls::params_encoded_view params(copy);
  if (params.size() > limits.max_fields) return std::nullopt;
  for (auto p : params) {
    if (p.key.empty() && !p.has_value) continue;  // "a=1&&b=2"
    out.fields.emplace_back(p.key.decode(opt), p.value.decode(opt));
  }
  return out;
}

std::optional<FormData> parse_query(std::string_view target, const FormLimits& limits) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return FormData{};
  std::string_view query = target.substr(q + 1);
  if (auto h = query.find('#'); h != std::string_view::npos) query = query.substr(0, h);
  return parse_form(query, limits);
}

std::string url_encode(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

std::string encode_form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields)
    if (!v.empty()) out += (out.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(v);
  return out;
}

std::string_view target_path(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

}  // namespace bastion::web
