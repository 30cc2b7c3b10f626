#include "server/chash.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

namespace bastion::server {

namespace {

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[n] = c;
  }
  return t;
}
constexpr auto kTable = make_table();

std::uint32_t crc_update(std::uint32_t crc, const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) crc = kTable[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

}  // namespace

std::uint32_t ngx_crc32(std::string_view data) {
  return crc_update(0xffffffffu, data.data(), data.size()) ^ 0xffffffffu;
}

NginxChashRing::NginxChashRing(std::vector<std::string> servers) : servers_(std::move(servers)) {
  if (servers_.empty()) throw std::invalid_argument("the ring needs at least one server");
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    std::string_view s = servers_[i];
    // Split "host:port" as nginx does: a trailing run of digits after ':'.
    std::string_view host = s, port;
    if (s.starts_with("unix:")) {
      host = s.substr(5);
    } else {
      for (std::size_t j = 0; j < s.size(); ++j) {
        char c = s[s.size() - j - 1];
        if (c == ':') {
          host = s.substr(0, s.size() - j - 1);
          port = s.substr(s.size() - j);
          break;
        }
        if (c < '0' || c > '9') break;
      }
    }
    std::uint32_t base = 0xffffffffu;
    base = crc_update(base, host.data(), host.size());
    base = crc_update(base, "", 1);  // one NUL byte
    base = crc_update(base, port.data(), port.size());
    std::uint32_t prev = 0;  // little-endian bytes, as nginx on x86
    for (int j = 0; j < 160; ++j) {
      unsigned char bytes[4] = {
          static_cast<unsigned char>(prev), static_cast<unsigned char>(prev >> 8),
          static_cast<unsigned char>(prev >> 16), static_cast<unsigned char>(prev >> 24)};
      std::uint32_t h = crc_update(base, bytes, 4) ^ 0xffffffffu;
      points_.push_back({h, i});
      prev = h;
    }
  }
  std::stable_sort(points_.begin(), points_.end(),
                   [](const Point& a, const Point& b) { return a.hash < b.hash; });
}

const std::string& NginxChashRing::lookup(std::string_view key) const {
  std::uint32_t h = ngx_crc32(key);
  auto it = std::lower_bound(points_.begin(), points_.end(), h,
                             [](const Point& p, std::uint32_t v) { return p.hash < v; });
  if (it == points_.end()) it = points_.begin();
  return servers_[it->server];
}

}  // namespace bastion::server
