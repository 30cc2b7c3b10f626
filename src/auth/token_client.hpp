// Client side of the token endpoint, for `bastion token` and tests: a tiny
// synchronous Beast HTTP/1.1 client over plain TCP (http:// only; put a TLS
// terminator in front or inject another FetchFn for https issuers).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include "auth/external_jwks.hpp"
#include "auth/jwt.hpp"
#include "auth/result.hpp"

namespace bastion::auth {

struct TokenResponse {
  std::string access_token;
  std::string token_type;
  std::int64_t expires_in = 0;
  std::string scope;
};

// POSTs grant_type=client_credentials to <base_url>/oauth2/token with
// client_secret_basic (id and secret form-urlencoded, RFC 6749 §2.3.1).
// Errors carry the server's error / error_description.
Result<TokenResponse> fetch_token(const std::string& base_url, const std::string& client_id,
                                  const std::string& secret, const std::string& scope = {},
                                  std::chrono::seconds timeout = std::chrono::seconds(10));

// A client-credentials token kept fresh: authorization() fetches one when there is
// none, when the current one is near its end (the last fifth of its
// lifetime, at most a minute early), or when `renew` says the resource
// server refused it. Thread-safe; fetching blocks the caller.
class TokenSource {
 public:
  TokenSource(std::string base_url, std::string client_id, std::string secret,
              std::string scope = {});
  // The "Bearer ..." header value, or the error of the fetch that failed.
  Result<std::string> authorization(bool renew = false);

 private:
  std::string base_url_, client_id_, secret_, scope_;
  mutable std::mutex mu_;
  std::string token_;
  std::chrono::steady_clock::time_point renew_at_{};
};

// GET `url` (http:// only), returning the body of a 200 response. The whole
// exchange (connect, write, read) must finish within `timeout`; a body over
// `max_bytes` is an error.
Result<std::string> http_get(const std::string& url,
                             std::chrono::seconds timeout = std::chrono::seconds(10),
                             std::size_t max_bytes = 1024 * 1024);

// The FetchFn AuthServer uses by default for an external JWKS: http_get
// within 5 seconds and 256 KiB.
FetchFn http_fetch_default();

}  // namespace bastion::auth
