// Login throttling: failed sign-ins counted per user name and per source
// address in a sliding window; past the limit, further attempts are refused
// without checking the password (no argon2id work for an attacker to
// spend) until the window has passed. A success clears the name's count.
//
// An empty source is not counted: when the address is not known (the
// transport says "unknown"), one bucket for everyone would let any 20
// failures lock every user out.
//
// Counts live in this process: replicas each count on their own, so N
// replicas allow N times the attempts (documented).
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/options.hpp"

namespace bastion::login {

struct ThrottleOptions {
  int per_user = 5;           // failures of one user name within the window
  int per_source = 20;        // failures from one address within the window
  std::int64_t window = 900;  // seconds
};

class Throttle {
 public:
  explicit Throttle(ThrottleOptions o, auth::Clock clock = auth::system_now)
      : o_(o), clock_(clock) {}
  // Seconds until `user` or `source` may try again; 0 when they may now.
  std::int64_t wait(std::string_view user, std::string_view source);
  void failed(std::string_view user, std::string_view source);
  void succeeded(std::string_view user);

 private:
  std::int64_t wait_locked(const std::string& key, int limit, std::int64_t now);
  ThrottleOptions o_;
  auth::Clock clock_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<std::int64_t>> failures_;
};

}  // namespace bastion::login
