#include "auth/ip_network.hpp"

#include <string>

namespace bastion::auth {

namespace ip = boost::asio::ip;

std::optional<IpNetwork> IpNetwork::parse(std::string_view text) {
  std::string s(text);
  std::string prefix;
  if (auto slash = s.find('/'); slash != std::string::npos) {
    prefix = s.substr(slash + 1);
    // Digits only (no sign, no space), and at most 3 of them.
    if (prefix.empty() || prefix.size() > 3 ||
        prefix.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    s.resize(slash);
  }
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  boost::system::error_code ec;
  ip::address a = ip::make_address(s, ec);
  if (ec) return std::nullopt;
  const int max = a.is_v4() ? 32 : 128;
  const int bits = prefix.empty() ? max : std::stoi(prefix);
  if (bits > max) return std::nullopt;
  if (a.is_v4()) return IpNetwork(ip::network_v4(a.to_v4(), static_cast<unsigned short>(bits)));
  return IpNetwork(ip::network_v6(a.to_v6(), static_cast<unsigned short>(bits)));
}

bool IpNetwork::contains(const ip::address& a) const {
  ip::address x = a;
  if (x.is_v6() && x.to_v6().is_v4_mapped()) x = ip::make_address_v4(ip::v4_mapped, x.to_v6());
  if (const auto* n4 = std::get_if<ip::network_v4>(&net_))
    return x.is_v4() && ip::network_v4(x.to_v4(), n4->prefix_length()).canonical() ==
                            n4->canonical();
  const auto& n6 = std::get<ip::network_v6>(net_);
  return x.is_v6() &&
         ip::network_v6(x.to_v6(), n6.prefix_length()).canonical() == n6.canonical();
}

}  // namespace bastion::auth
