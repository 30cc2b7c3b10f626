// An IP network from configuration ("10.0.0.0/8", "fd00::/8", or one address:
// a /32 or /128), on Boost.Asio's network_v4/network_v6: trusted proxies and
// the addresses a safe fetch may reach although they are not public.
//
// Thread-safety: a value; const members are safe to call concurrently.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <optional>
#include <string_view>
#include <variant>

namespace bastion::auth {

class IpNetwork {
 public:
  // "a.b.c.d[/n]", "x::y[/n]" or "[x::y][/n]"; nullopt when malformed or n
  // is too long for the family.
  static std::optional<IpNetwork> parse(std::string_view text);

  // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d: it is
  // judged by its IPv4 address, so it matches IPv4 networks only.
  bool contains(const boost::asio::ip::address& a) const;

 private:
  explicit IpNetwork(std::variant<boost::asio::ip::network_v4, boost::asio::ip::network_v6> n)
      : net_(n) {}
  std::variant<boost::asio::ip::network_v4, boost::asio::ip::network_v6> net_;
};

}  // namespace bastion::auth
