#include "auth/token_cache.hpp"

#include "protocol/sha256.hpp"

#include <cstring>

namespace bastion::auth {

VerifiedTokenCache::VerifiedTokenCache(std::size_t capacity) : capacity_(capacity) {
  index_.reserve(capacity_ < 4096 ? capacity_ : 4096);
}

VerifiedTokenCache::Digest VerifiedTokenCache::digest(std::string_view token) {
  return protocol::sha256_of(token);
}

std::size_t VerifiedTokenCache::DigestHash::operator()(const Digest& d) const noexcept {
  // The digest is already uniformly distributed.
  std::size_t h;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

std::shared_ptr<const VerifiedTokenCache::Entry> VerifiedTokenCache::find(const Digest& d) {
  if (capacity_ == 0) return nullptr;
  std::lock_guard lock(mu_);
  auto it = index_.find(d);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void VerifiedTokenCache::insert(const Digest& d, std::shared_ptr<const Entry> e,
                                std::uint64_t generation) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mu_);
  if (generation != generation_) return;
  if (auto it = index_.find(d); it != index_.end()) {
    it->second->second = std::move(e);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  while (lru_.size() >= capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  lru_.emplace_front(d, std::move(e));
  index_.emplace(d, lru_.begin());
}

void VerifiedTokenCache::erase(const Digest& d) {
  std::lock_guard lock(mu_);
  if (auto it = index_.find(d); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
}

void VerifiedTokenCache::clear() {
  std::lock_guard lock(mu_);
  ++generation_;
  index_.clear();
  lru_.clear();
}

std::uint64_t VerifiedTokenCache::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

std::size_t VerifiedTokenCache::size() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

}  // namespace bastion::auth
