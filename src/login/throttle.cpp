#include "login/throttle.hpp"

namespace bastion::login {

std::int64_t Throttle::wait_locked(const std::string& key, int limit, std::int64_t now) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return 0;
  auto& q = it->second;
  while (!q.empty() && q.front() + o_.window <= now) q.pop_front();
  if (q.empty()) {
    failures_.erase(it);
    return 0;
  }
  if (static_cast<int>(q.size()) < limit) return 0;
  return q.front() + o_.window - now;
}

std::int64_t Throttle::wait(std::string_view user, std::string_view source) {
  std::lock_guard lock(mu_);
  std::int64_t now = clock_();
  std::int64_t u = wait_locked("u:" + std::string(user), o_.per_user, now);
  if (source.empty()) return u;
  return std::max(u, wait_locked("s:" + std::string(source), o_.per_source, now));
}

void Throttle::failed(std::string_view user, std::string_view source) {
  std::lock_guard lock(mu_);
  std::int64_t now = clock_();
  // Bound memory: a flood of distinct names must not grow the map forever
  // (expired entries go; live ones stay, so a flood cannot reset a lock).
  if (failures_.size() > 100000)
    for (auto it = failures_.begin(); it != failures_.end();)
      it = it->second.empty() || it->second.back() + o_.window <= now ? failures_.erase(it)
                                                                      : std::next(it);
  failures_["u:" + std::string(user)].push_back(now);
  if (!source.empty()) failures_["s:" + std::string(source)].push_back(now);
}

void Throttle::succeeded(std::string_view user) {
  std::lock_guard lock(mu_);
  failures_.erase("u:" + std::string(user));
}

}  // namespace bastion::login
