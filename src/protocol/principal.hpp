// Who is calling: the identity the transport established (an OAuth2 client,
// or the anonymous principal when auth is off / on stdio).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bastion::protocol {

struct Principal {
  std::string issuer;                 // token `iss`; empty when anonymous
  std::string subject = "anonymous";  // token `sub`
  std::string client_id = "anonymous";
  std::vector<std::string> scopes;  // granted scopes, empty when anonymous
  bool authenticated = false;
  std::int64_t issued_at = 0;  // token `iat` (seconds), 0 when unknown

  // The same caller, whatever scopes each holds now: issuer, subject,
  // client and whether a token was shown at all.
  bool same_identity(const Principal& o) const {
    return authenticated == o.authenticated && issuer == o.issuer && subject == o.subject &&
           client_id == o.client_id;
  }
  bool has_scope(std::string_view s) const {
    for (const auto& x : scopes)
      if (x == s) return true;
    return false;
  }
  static const Principal& anonymous() {
    static const Principal p;
    return p;
  }
};

}  // namespace bastion::protocol
