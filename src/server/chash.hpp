// The consistent-hash ring of nginx's `hash $key consistent` (ketama, 160
// points per weight unit, CRC-32 as in ngx_http_upstream_hash_module), so a
// replica can create session ids that the ingress routes back to itself:
// `hash $http_mcp_session_id consistent` then keeps every session on the
// replica that holds it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::server {

class NginxChashRing {
 public:
  // `servers` exactly as written in the nginx upstream block ("10.0.0.1:8080").
  explicit NginxChashRing(std::vector<std::string> servers);
  // The server nginx picks for `key` (all servers up).
  const std::string& lookup(std::string_view key) const;
  const std::vector<std::string>& servers() const { return servers_; }

 private:
  struct Point {
    std::uint32_t hash;
    std::size_t server;
  };
  std::vector<std::string> servers_;
  std::vector<Point> points_;
};

std::uint32_t ngx_crc32(std::string_view data);

}  // namespace bastion::server
