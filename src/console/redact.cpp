#include "console/redact.hpp"

#include <algorithm>
#include <cctype>

#include "protocol/url_display.hpp"

namespace bastion::console {

namespace json = boost::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Every leaf of `v` replaced.
json::value blank(const json::value& v) {
  if (v.is_object()) {
    json::object o;
    for (const auto& [k, x] : v.get_object()) o[k] = blank(x);
    return o;
  }
  if (v.is_array()) {
    json::array a;
    for (const auto& x : v.get_array()) a.push_back(blank(x));
    return a;
  }
  if (v.is_null()) return nullptr;
  return json::string(kRedacted);
}

json::value walk(const json::value& v, const std::function<std::string(std::string_view)>& scrub) {
  if (v.is_object()) {
    json::object o;
    for (const auto& [k, x] : v.get_object()) {
      std::string_view key(k.data(), k.size());
      std::string lk = lower(key);
      if (secret_key_name(key) || lk == "headers" || lk == "env")
        o[k] = blank(x);
      else
        o[k] = walk(x, scrub);
    }
    return o;
  }
  if (v.is_array()) {
    json::array a;
    for (const auto& x : v.get_array()) a.push_back(walk(x, scrub));
    return a;
  }
  if (!v.is_string()) return v;
  std::string_view s = v.get_string();
  // A URL's userinfo and query may hold credentials (an upstream's api_key=).
  std::string shown = protocol::display_if_url(s).value_or(std::string(s));
  return json::string(scrub ? scrub(shown) : shown);
}

}  // namespace

bool secret_key_name(std::string_view key) {
  std::string k = lower(key);
  // Keys that name a secret by reference, not by value.
  if (k == "secret_env" || k == "secrets" || k == "key_fingerprint" || k == "token_lifetime" ||
      k == "max_token_bytes" || k == "token_endpoint_auth_method")
    return false;
  for (std::string_view word : {"secret", "password", "passwd", "token", "key", "credential",
                                "authorization", "cookie", "private", "passphrase", "salt", "hash"})
    if (k.find(word) != std::string::npos) return true;
  return false;
}

json::value redact_config(const json::value& v,
                          const std::function<std::string(std::string_view)>& scrub) {
  return walk(v, scrub);
}

}  // namespace bastion::console
