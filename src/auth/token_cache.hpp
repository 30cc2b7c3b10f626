// Verified bearer tokens, remembered by the SHA-256 of the token, so a client
// that sends the same access token on every request pays the signature check
// once instead of per request (an ES256 verify is ~80 us of a core).
//
// The cache only answers "this exact token passed the signature and claim
// checks once, with this key". Everything that can change afterwards is
// checked again by TokenValidator on every hit: expiry against the clock, the
// revocation list, and that the issuer still trusts the same key object for
// the kid (a removed or replaced key misses). clear() drops everything and
// bumps a generation so a validation that started before it cannot insert a
// stale entry after it.
//
// Bounded: at most `capacity` entries, least recently used evicted first; only
// tokens that validated get in, so flooding it takes validly signed tokens.
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/jwk.hpp"
#include "auth/jwt.hpp"

namespace bastion::auth {

class VerifiedTokenCache {
 public:
  using Digest = std::array<unsigned char, 32>;

  struct Entry {
    AccessToken token;
    std::size_t issuer = 0;          // index into the validator's issuers
    std::string kid;                 // the header's kid
    std::shared_ptr<const Key> key;  // the key object that verified it
  };

  // capacity 0 disables the cache (find never hits, insert does nothing).
  explicit VerifiedTokenCache(std::size_t capacity);

  static Digest digest(std::string_view token);

  // The entry for `d` (and marks it recently used), or nullptr.
  std::shared_ptr<const Entry> find(const Digest& d);
  // Adds (or replaces) `d`, unless clear() ran since `generation` was read.
  void insert(const Digest& d, std::shared_ptr<const Entry> e, std::uint64_t generation);
  void erase(const Digest& d);
  void clear();

  std::uint64_t generation() const;
  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }

 private:
  struct DigestHash {
    std::size_t operator()(const Digest& d) const noexcept;
  };
  using Lru = std::list<std::pair<Digest, std::shared_ptr<const Entry>>>;

  const std::size_t capacity_;
  mutable std::mutex mu_;
  Lru lru_;  // most recently used first
  std::unordered_map<Digest, Lru::iterator, DigestHash> index_;
  std::uint64_t generation_ = 0;
};

}  // namespace bastion::auth
