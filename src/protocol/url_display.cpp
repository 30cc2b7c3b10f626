#include "protocol/url_display.hpp"

#include <boost/url/parse.hpp>

namespace bastion::protocol {

namespace {

constexpr std::string_view kHidden = "[redacted]";

// Not a URL Boost.URL reads: cut at the first '?' or '#', and hide what
// stands before an '@' in the authority.
std::string display_unparsed(std::string_view text) {
  std::string out(text.substr(0, text.find_first_of("?#")));
  bool cut = out.size() < text.size();
  auto authority = out.find("//");
  if (authority != std::string::npos) {
    authority += 2;
    auto at = out.rfind('@', out.find('/', authority));  // npos: the whole text
    if (at != std::string::npos && at >= authority) out.replace(authority, at - authority, kHidden);
  }
  if (cut) out += "?" + std::string(kHidden);
  return out;
}

}  // namespace

std::optional<std::string> display_if_url(std::string_view text) {
  auto u = boost::urls::parse_uri(text);
  if (!u || !u->has_authority()) return std::nullopt;
  std::string out(u->scheme());
  out += "://";
  if (u->has_userinfo()) out += std::string(kHidden) + "@";
  out += std::string_view(u->encoded_host_and_port());
  out += std::string_view(u->encoded_path());
  if (u->has_query()) out += "?" + std::string(kHidden);
  return out;
}

std::string display_url(std::string_view url) {
  if (auto shown = display_if_url(url)) return *shown;
  return display_unparsed(url);
}

UrlCredentials url_credentials(std::string_view url) {
  UrlCredentials out;
  auto u = boost::urls::parse_uri(url);
  if (!u) return out;
  if (u->has_userinfo()) {
    out.whole.emplace_back(std::string_view(u->encoded_userinfo()));
    if (u->has_password()) {
      out.whole.emplace_back(std::string_view(u->encoded_password()));
      out.whole.push_back(u->password());
    }
  }
  if (u->has_query()) {
    out.whole.emplace_back(std::string_view(u->encoded_query()));
    for (auto p : u->encoded_params()) {
      if (!p.has_value) continue;
      out.query_values.emplace_back(std::string_view(p.value));
      out.query_values.push_back(p.value.decode());
    }
  }
  return out;
}

}  // namespace bastion::protocol
