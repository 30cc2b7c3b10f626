#include "protocol/form.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace bastion::protocol {

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

std::optional<std::string> form_decode(std::string_view component) {
  auto pct = boost::urls::make_pct_string_view(component);
  if (!pct) return std::nullopt;
  boost::urls::encoding_opts opt;
  opt.space_as_plus = true;
  return pct->decode(opt);
}

std::optional<FormData> parse_form(std::string_view body, const FormLimits& limits) {
  if (body.size() > limits.max_bytes) return std::nullopt;
  // Boost 1.81's query parsing read up to the end of the underlying string,
  // not of the view (parse_query even ran strlen past it): a request target
  // is a view into Beast's buffer, which has no terminating NUL (an
  // out-of-bounds read under ASan). Every Boost.URL call gets views of a
  // copy that ends where the input ends.
  const std::string copy(body);
  const std::string_view text(copy);
  FormData out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t amp = text.find('&', i);
    if (amp == std::string_view::npos) amp = text.size();
    std::string_view part = text.substr(i, amp - i);
    i = amp + 1;
    if (part.empty()) continue;  // "a=1&&b=2"
    if (out.fields.size() == limits.max_fields) return std::nullopt;
    std::size_t eq = part.find('=');
    auto name = form_decode(part.substr(0, eq));
    auto value = form_decode(eq == std::string_view::npos ? "" : part.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    out.fields.emplace_back(std::move(*name), std::move(*value));
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

}  // namespace bastion::protocol
