// An external issuer's key set (its JWKS), kept fresh by a background thread
// so that no request ever waits for the network: find() looks keys up in
// memory and, for a kid it does not know, asks the thread for a refresh (at
// most one fetch per `min_refresh`, so kid spraying cannot become a fetch
// storm) and answers "unknown" at once. The thread also refreshes every
// `refresh_interval`. A fetch is bounded in time and size; a failed one keeps
// the last good key set, but keys not confirmed by a fetch for `max_stale`
// are no longer trusted (fail closed when the issuer cannot be reached for
// that long: a key it withdrew must not stay trusted forever).
//
// Thread-safety: every member may be called concurrently; find() and size()
// never block on I/O.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/jwk.hpp"
#include "auth/options.hpp"
#include "auth/result.hpp"

namespace bastion::auth {

// Fetches a URL and returns the body (or an error). Injected so tests serve
// JWKS from memory or 127.0.0.1; the default (token_client.hpp) is a small
// Beast HTTP client bounded in time and size.
using FetchFn = std::function<Result<std::string>(const std::string& url)>;

struct ExternalJwksOptions {
  std::string url;
  std::chrono::seconds refresh_interval{300};  // periodic refresh
  std::chrono::seconds min_refresh{30};        // at most one fetch this often
  std::chrono::seconds max_stale{86400};       // trust keys this long after the last good fetch
  std::size_t max_bytes = 256 * 1024;          // a larger document is refused
  std::size_t max_keys = 64;                   // keys beyond this are ignored
  // false: no thread; the owner calls refresh() (tests).
  bool background = true;
};

class ExternalJwks {
 public:
  // With `background`, starts the thread, which fetches at once.
  ExternalJwks(ExternalJwksOptions options, FetchFn fetch, Clock clock = system_now);
  // Stops the thread; a fetch in progress is waited for (it is bounded).
  ~ExternalJwks();
  ExternalJwks(const ExternalJwks&) = delete;
  ExternalJwks& operator=(const ExternalJwks&) = delete;

  // The key for `kid`, or nullptr (unknown, or stale). Never fetches: an
  // unknown kid only asks for a refresh.
  std::shared_ptr<const Key> find(std::string_view kid);
  // Fetches now on the caller's thread; returns the number of usable keys or
  // the error (the last good set stays on error).
  Result<std::size_t> refresh();
  std::size_t size() const;
  // Whether a refresh was asked for and has not run yet.
  bool refresh_pending() const;
  const std::string& url() const { return options_.url; }

 private:
  void run();

  const ExternalJwksOptions options_;
  FetchFn fetch_;
  Clock clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<const Key>> keys_;
  std::int64_t last_attempt_ = INT64_MIN / 2;  // clock_() of the last fetch begun
  std::int64_t last_success_ = INT64_MIN / 2;  // clock_() of the last good fetch
  bool want_refresh_ = false;
  bool stale_warned_ = false;
  bool stop_ = false;
  std::thread thread_;
};

// Parses a JWKS document: asymmetric signature keys with a kid and an alg we
// support (keys with no alg get the curve's alg for EC/OKP, RS256 for RSA).
// Keys that cannot be used are skipped, not fatal; at most `max_keys`.
std::vector<std::shared_ptr<const Key>> parse_jwks(const json::value& jwks,
                                                   std::size_t max_keys = 64);

}  // namespace bastion::auth
