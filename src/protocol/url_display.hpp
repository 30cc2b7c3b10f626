// A URL as an operator may see it: what identifies the server (scheme, host,
// port, path) stays, what may carry a credential (userinfo, the query
// string) is replaced by "[redacted]" and the fragment is dropped. The real
// URL is still what a connection uses; this is for logs, error messages, the
// console and the CLI.
//
//   display_url("http://u:p@api.example:8080/mcp?api_key=XYZ")
//     == "http://[redacted]@api.example:8080/mcp?[redacted]"
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::protocol {

// `url` shown without its credentials; text that is not a URL is cut the
// same way (everything from '?' or '#', anything before an '@' after "//").
std::string display_url(std::string_view url);

// display_url(text) when `text` is an absolute URL with an authority
// ("scheme://..."), else nullopt: for walking values of which only some are
// URLs.
std::optional<std::string> display_if_url(std::string_view text);

// The parts of `url` display_url hides that may be credentials; both empty
// when `url` is not a URL.
struct UrlCredentials {
  std::vector<std::string> whole;         // the userinfo, its password, the whole query
  std::vector<std::string> query_values;  // each query value, as written and decoded
};
UrlCredentials url_credentials(std::string_view url);

}  // namespace bastion::protocol
