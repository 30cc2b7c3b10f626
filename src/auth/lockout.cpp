#include "auth/lockout.hpp"

#include <algorithm>

#include "auth/http_util.hpp"
#include "auth/jwk.hpp"

namespace bastion::auth {

namespace ip = boost::asio::ip;

namespace {

constexpr std::size_t kMaxKnownSources = 8;
constexpr std::int64_t kKnownFor = 24 * 3600;

ip::address unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

Source source_of(const ip::address& raw) {
  ip::address a = unmapped(raw);
  Source s;
  s.address = a.to_string();
  if (a.is_v4()) {
    s.key = s.address;
  } else {
    // One host usually holds a whole /64: count it as one source.
    auto b = a.to_v6().to_bytes();
    std::fill(b.begin() + 8, b.end(), 0);
    s.key = ip::address_v6(b).to_string() + "/64";
  }
  return s;
}

bool trusted_by(const ip::address& a, const std::vector<IpNetwork>& trusted) {
  return std::any_of(trusted.begin(), trusted.end(),
                     [&](const IpNetwork& n) { return n.contains(a); });
}

// Attacker-chosen client ids can be long: keys stay small.
std::string bounded(std::string_view id) {
  if (id.size() <= 128) return std::string(id);
  return "#" + b64url_encode(sha256(id));
}

std::string pair_key(std::string_view client_id, std::string_view source) {
  return bounded(client_id) + '\n' + std::string(source);
}

}  // namespace

Source request_source(const ip::address& peer, const std::vector<std::string_view>& forwarded_for,
                      const std::vector<IpNetwork>& trusted) {
  if (!trusted_by(peer, trusted)) return source_of(peer);
  // Every entry, left to right, across header lines.
  std::vector<std::string_view> hops;
  for (std::string_view h : forwarded_for) {
    while (!h.empty()) {
      auto comma = h.find(',');
      hops.push_back(trim(h.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      h.remove_prefix(comma + 1);
    }
  }
  ip::address current = peer;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    boost::system::error_code ec;
    ip::address a = ip::make_address(std::string(*it), ec);
    if (ec) break;  // garbage before the hop we trust: that hop is the source
    current = a;
    if (!trusted_by(a, trusted)) break;
  }
  return source_of(current);
}

Lockout::Lockout(LockoutOptions options, Clock clock)
    : options_(std::move(options)), clock_(std::move(clock)) {}

std::int64_t Lockout::wait_locked(const Table& t, const std::string& key, std::int64_t now) const {
  const Entry* e = t.peek(key);
  return e ? std::max<std::int64_t>(0, e->locked_until - now) : 0;
}

bool Lockout::known_locked(std::string_view client_id, std::string_view source,
                           std::int64_t now) const {
  auto it = known_.find(std::string(client_id));
  if (it == known_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const Known& k) { return k.source == source && now - k.at <= kKnownFor; });
}

std::int64_t Lockout::retry_after(std::string_view client_id, std::string_view source) const {
  std::lock_guard lock(mu_);
  std::int64_t now = clock_();
  std::int64_t wait = std::max(wait_locked(pairs_, pair_key(client_id, source), now),
                               wait_locked(sources_, std::string(source), now));
  if (!known_locked(client_id, source, now))
    wait = std::max(wait, wait_locked(clients_, bounded(client_id), now));
  return wait;
}

std::int64_t Lockout::fail_locked(Table& t, const std::string& key, int free, std::int64_t cap,
                                  std::int64_t now) {
  Entry& e = t.get_or_insert(key);
  if (now - e.last_failure > options_.forget_after.count()) e.failures = 0;
  e.failures = std::min(e.failures + 1, 1 << 20);
  e.last_failure = now;
  int over = e.failures - free;
  if (over <= 0) return 0;
  // 1, 2, 4, ... seconds: 2^(over-1), capped (and no shift past 62 bits).
  std::int64_t delay =
      over - 1 >= 62 ? cap : std::min<std::int64_t>(cap, std::int64_t(1) << (over - 1));
  e.locked_until = std::max(e.locked_until, now + delay);
  return e.locked_until - now;
}

std::int64_t Lockout::failure(std::string_view client_id, std::string_view source) {
  std::lock_guard lock(mu_);
  std::int64_t now = clock_();
  std::int64_t w = fail_locked(pairs_, pair_key(client_id, source), options_.pair_free,
                               options_.max_backoff.count(), now);
  w = std::max(w, fail_locked(sources_, std::string(source), options_.source_free,
                              options_.max_backoff.count(), now));
  std::int64_t c = fail_locked(clients_, bounded(client_id), options_.client_free,
                               options_.client_max_backoff.count(), now);
  if (!known_locked(client_id, source, now)) w = std::max(w, c);
  return w;
}

void Lockout::success(std::string_view client_id, std::string_view source) {
  std::lock_guard lock(mu_);
  std::int64_t now = clock_();
  pairs_.erase(pair_key(client_id, source));
  if (known_.size() >= options_.max_entries && !known_.count(std::string(client_id)))
    return;  // only registered clients get here; the bound is a backstop
  auto& list = known_[std::string(client_id)];
  std::erase_if(list, [&](const Known& k) { return k.source == source || now - k.at > kKnownFor; });
  if (list.size() >= kMaxKnownSources)
    list.erase(std::min_element(list.begin(), list.end(),
                                [](const Known& a, const Known& b) { return a.at < b.at; }));
  list.push_back(Known{std::string(source), now});
}

std::size_t Lockout::size() const {
  std::lock_guard lock(mu_);
  return pairs_.size() + sources_.size() + clients_.size() + known_.size();
}

}  // namespace bastion::auth
