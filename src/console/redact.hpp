// The effective configuration as the console shows it: every value that may
// be a secret replaced by "[redacted]". What counts as one: the value of a
// key whose name says so (secret, password, token, key, credential,
// authorization, cookie, private, passphrase, salt, hash), every value under
// `headers` and `env` (an upstream's API key travels there), a URL's userinfo
// and query string (protocol::display_url), and any string the process-wide
// secret redactor knows (security/redact.hpp), wherever it appears. Key names
// and structure stay, so an operator sees what is set.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <string>
#include <string_view>

namespace bastion::console {

inline constexpr std::string_view kRedacted = "[redacted]";

// Whether a key's name marks its value as a secret.
bool secret_key_name(std::string_view key);

// A redacted copy of `v`. `scrub` (optional) rewrites any other string (the
// global redactor).
boost::json::value redact_config(const boost::json::value& v,
                                 const std::function<std::string(std::string_view)>& scrub = {});

}  // namespace bastion::console
