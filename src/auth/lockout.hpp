// Backoff after failed client authentication (policy in LockoutOptions,
// options.hpp): three tables of failure counts, keyed by (client id, source),
// by source and by client id, each bounded (least recently used entries are
// dropped first), and the sources each registered client authenticated from
// lately, which the client-wide lock spares.
//
// Why these choices, for a reviewer:
// - A lock refuses without checking the secret, so a right guess during a
//   lock gains nothing; 30 wrong secrets then the right one gets 429.
// - Locks grow 1, 2, 4 ... s and are capped, and failures are forgotten
//   after a quiet period: there is no permanent lockout, so nobody can shut a
//   client out for good by failing on purpose. While an attack on a client
//   id goes on, its known sources keep working; a host it never used waits
//   at most the client cap (60 s by default) per attempt.
// - Unknown client ids are counted exactly like known ones, so the lockout
//   tells nothing about which ids exist.
// - The tables are bounded: an attacker with more addresses than
//   `max_entries` can push old entries out, which gives each of his
//   addresses its free failures again; the per-client lock still holds.
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/ip_network.hpp"
#include "auth/lru_map.hpp"
#include "auth/options.hpp"

namespace bastion::auth {

// Where a request comes from, for rate limits and the audit log.
struct Source {
  std::string address;  // as seen: "203.0.113.7", "2001:db8::1"
  std::string key;      // what limits count: the address, or its /64 for IPv6
};

// The source of a request: the TCP `peer`, or, when the peer is one of the
// trusted proxies, the rightmost address in X-Forwarded-For (all of the
// `forwarded_for` header values, in order) that is not a trusted proxy. A
// malformed entry ends the walk at the hop that added it.
Source request_source(const boost::asio::ip::address& peer,
                      const std::vector<std::string_view>& forwarded_for,
                      const std::vector<IpNetwork>& trusted);

class Lockout {
 public:
  explicit Lockout(LockoutOptions options, Clock clock = system_now);

  // Seconds to wait before `client_id` may try from `source` (0: go ahead).
  std::int64_t retry_after(std::string_view client_id, std::string_view source) const;
  // Records a failed authentication; returns the wait it causes (0 if none).
  std::int64_t failure(std::string_view client_id, std::string_view source);
  // Records a success: the pair's failures are forgotten, and `source`
  // becomes a known source of `client_id` (spared by the client-wide lock).
  void success(std::string_view client_id, std::string_view source);

  std::size_t size() const;  // entries in all tables

 private:
  struct Entry {
    int failures = 0;
    std::int64_t last_failure = 0;
    std::int64_t locked_until = 0;
  };
  // Keys beyond max_entries push out the least recently failed.
  using Table = LruMap<Entry>;
  struct Known {
    std::string source;
    std::int64_t at = 0;
  };

  std::int64_t wait_locked(const Table& t, const std::string& key, std::int64_t now) const;
  std::int64_t fail_locked(Table& t, const std::string& key, int free, std::int64_t cap,
                           std::int64_t now);
  bool known_locked(std::string_view client_id, std::string_view source, std::int64_t now) const;

  const LockoutOptions options_;
  Clock clock_;
  mutable std::mutex mu_;
  Table pairs_{options_.max_entries}, sources_{options_.max_entries},
      clients_{options_.max_entries};
  std::unordered_map<std::string, std::vector<Known>> known_;  // client id -> sources
};

}  // namespace bastion::auth
