// A string-keyed map that holds at most `capacity` entries: a new key that
// would make one too many first drops the least recently used entry (or,
// when a predicate says which entries are expendable, the least recently
// used expendable one), never everything at once. So a flood of new keys
// pushes out old, idle entries and leaves the ones in use (or the ones
// worth keeping) in place.
//
// Thread-safety: none; its owner locks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

namespace bastion::auth {

template <class V>
class LruMap {
 public:
  using Expendable = std::function<bool(const V&)>;

  explicit LruMap(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

  // The value under `key`, now the most recently used; nullptr when absent.
  V* find(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  // The value under `key`, its place left as it is; nullptr when absent.
  const V* peek(const std::string& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &it->second->second;
  }

  // Removes `key`; whether it was there.
  bool erase(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.erase(it->second);
    index_.erase(it);
    return true;
  }

  // The value under `key` (inserted as V{} when absent), now the most
  // recently used. Inserting into a full map first drops the least recently
  // used entry for which `expendable` holds, or the least recently used of
  // all when none does (or no predicate is given).
  V& get_or_insert(const std::string& key, const Expendable& expendable = {}) {
    if (V* v = find(key)) return *v;
    if (order_.size() >= capacity_) drop_one(expendable);
    order_.emplace_front(key, V{});
    index_.emplace(key, order_.begin());
    return order_.front().second;
  }

  // Removes every entry for which `pred` holds; returns how many.
  std::size_t erase_if(const std::function<bool(const V&)>& pred) {
    std::size_t n = 0;
    for (auto it = order_.begin(); it != order_.end();) {
      if (!pred(it->second)) {
        ++it;
        continue;
      }
      index_.erase(it->first);
      it = order_.erase(it);
      ++n;
    }
    return n;
  }

  std::size_t size() const { return order_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  using Order = std::list<std::pair<std::string, V>>;  // most recently used first

  void drop_one(const Expendable& expendable) {
    auto victim = std::prev(order_.end());
    if (expendable)
      for (auto it = order_.rbegin(); it != order_.rend(); ++it)
        if (expendable(it->second)) {
          victim = std::prev(it.base());
          break;
        }
    index_.erase(victim->first);
    order_.erase(victim);
  }

  const std::size_t capacity_;
  Order order_;
  std::unordered_map<std::string, typename Order::iterator> index_;
};

}  // namespace bastion::auth
