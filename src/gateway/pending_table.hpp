// PendingTable: the calls a Modern client left waiting for its input
// (era_bridge.hpp), each under an unguessable id that only the sealed
// requestState carries. Bounded in total and per owner (one client cannot
// take every slot), every entry expires, and taking one removes it: a state
// used once, or replayed later, finds nothing.
#pragma once

#include <openssl/rand.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/base64.hpp"
#include "protocol/expected.hpp"

namespace bastion::gateway {

struct PendingLimits {
  std::size_t max_total = 1024;                            // entries, all owners together
  std::size_t max_per_owner = 64;                          // entries of one owner (principal)
  std::chrono::milliseconds ttl{std::chrono::minutes(2)};  // how long an entry waits
};

enum class PendingMiss {
  kUnknown,  // never issued, already taken (replayed), or expired and swept
  kForeign,  // another owner's: left in place for its owner
  kExpired,  // past its deadline (left for expire())
};
std::string_view to_string(PendingMiss m);

struct PendingFull {
  std::string reason;
};

// Thread-safe.
template <class T>
class PendingTable {
 public:
  using Clock = std::chrono::steady_clock;
  explicit PendingTable(PendingLimits limits) : limits_(limits) {}

  const PendingLimits& limits() const { return limits_; }

  // Files `value` for `owner`; its id (32 hex digits from the CSPRNG), or
  // why not when a limit is reached.
  protocol::Expected<std::string, PendingFull> insert(std::string owner, T value,
                                                      Clock::time_point now = Clock::now()) {
    std::lock_guard lk(mu_);
    if (entries_.size() >= limits_.max_total)
      return PendingFull{"too many calls are waiting for input (" +
                         std::to_string(limits_.max_total) + ")"};
    if (per_owner_[owner] >= limits_.max_per_owner)
      return PendingFull{"this client has too many calls waiting for input (" +
                         std::to_string(limits_.max_per_owner) + ")"};
    std::string id;
    do {
      unsigned char raw[16];
      if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
      id = protocol::hex_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
    } while (entries_.contains(id));
    ++per_owner_[owner];
    entries_.emplace(id, Entry{std::move(owner), now + limits_.ttl, std::move(value)});
    return id;
  }

  // Removes and returns the entry `id` of `owner`, unless it expired.
  protocol::Expected<T, PendingMiss> take(std::string_view id, std::string_view owner,
                                          Clock::time_point now = Clock::now()) {
    std::lock_guard lk(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return PendingMiss::kUnknown;
    if (it->second.owner != owner) return PendingMiss::kForeign;
    // Left for expire(), whose caller ends it.
    if (now >= it->second.deadline) return PendingMiss::kExpired;
    T value = std::move(it->second.value);
    release(it);
    return value;
  }

  // The entry `id` of `owner`, left in place, unless it expired: what take()
  // would return now.
  protocol::Expected<T, PendingMiss> peek(std::string_view id, std::string_view owner,
                                          Clock::time_point now = Clock::now()) const {
    std::lock_guard lk(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return PendingMiss::kUnknown;
    if (it->second.owner != owner) return PendingMiss::kForeign;
    if (now >= it->second.deadline) return PendingMiss::kExpired;
    return it->second.value;
  }

  // Removes and returns the entries past their deadline (the caller ends them).
  std::vector<T> expire(Clock::time_point now = Clock::now()) {
    std::lock_guard lk(mu_);
    std::vector<T> out;
    for (auto it = entries_.begin(); it != entries_.end();) {
      auto next = std::next(it);
      if (now >= it->second.deadline) {
        out.push_back(std::move(it->second.value));
        release(it);
      }
      it = next;
    }
    return out;
  }

  // Removes and returns every entry (shutdown).
  std::vector<T> clear() {
    std::lock_guard lk(mu_);
    std::vector<T> out;
    for (auto& [id, e] : entries_) out.push_back(std::move(e.value));
    entries_.clear();
    per_owner_.clear();
    return out;
  }

  std::size_t size() const {
    std::lock_guard lk(mu_);
    return entries_.size();
  }

 private:
  struct Entry {
    std::string owner;
    Clock::time_point deadline;
    T value;
  };
  using Map = std::map<std::string, Entry, std::less<>>;

  void release(typename Map::iterator it) {
    auto o = per_owner_.find(it->second.owner);
    if (o != per_owner_.end() && --o->second == 0) per_owner_.erase(o);
    entries_.erase(it);
  }

  PendingLimits limits_;
  mutable std::mutex mu_;
  Map entries_;
  std::map<std::string, std::size_t, std::less<>> per_owner_;
};

}  // namespace bastion::gateway
