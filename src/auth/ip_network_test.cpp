#include "auth/ip_network.hpp"

#include <gtest/gtest.h>

namespace bastion::auth {
namespace {

namespace ip = boost::asio::ip;

TEST(IpNetwork, ParsesAddressesAndNetworksOnly) {
  for (const char* good : {"10.0.0.0/8", "10.0.0.1", "::1", "fd00::/8", "[::1]", "[fd00::]/8",
                           "0.0.0.0/0", "::/0", "10.0.0.0/32", "::/128"})
    EXPECT_TRUE(IpNetwork::parse(good)) << good;
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8",
                          "10.0.0.0/ 8", "10.0.0.0/0008", "10.0.0.0/8x", "example.com", "",
                          "/8", "10.0.0/8", "[10.0.0.1"})
    EXPECT_FALSE(IpNetwork::parse(bad)) << bad;
}

TEST(IpNetwork, ContainsByPrefix) {
  auto n = IpNetwork::parse("192.168.4.0/22").value();
  EXPECT_TRUE(n.contains(ip::make_address("192.168.4.0")));
  EXPECT_TRUE(n.contains(ip::make_address("192.168.7.255")));
  EXPECT_FALSE(n.contains(ip::make_address("192.168.8.0")));
  EXPECT_FALSE(n.contains(ip::make_address("192.168.3.255")));
  EXPECT_FALSE(n.contains(ip::make_address("::1")));
  // Host bits in the configured network do not matter.
  EXPECT_TRUE(IpNetwork::parse("10.9.9.9/8")->contains(ip::make_address("10.1.2.3")));
  auto one = IpNetwork::parse("10.0.0.1").value();
  EXPECT_TRUE(one.contains(ip::make_address("10.0.0.1")));
  EXPECT_FALSE(one.contains(ip::make_address("10.0.0.2")));
  auto v6 = IpNetwork::parse("fd00::/8").value();
  EXPECT_TRUE(v6.contains(ip::make_address("fdff::1")));
  EXPECT_FALSE(v6.contains(ip::make_address("fe00::1")));
  EXPECT_FALSE(v6.contains(ip::make_address("10.0.0.1")));
  EXPECT_TRUE(IpNetwork::parse("0.0.0.0/0")->contains(ip::make_address("8.8.8.8")));
}

// A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d: it is judged
// by its IPv4 address, never by an IPv6 network that happens to cover it.
TEST(IpNetwork, AnIpv4MappedPeerIsJudgedAsIpv4) {
  auto mapped = ip::make_address("::ffff:10.1.2.3");
  EXPECT_TRUE(IpNetwork::parse("10.0.0.0/8")->contains(mapped));
  EXPECT_FALSE(IpNetwork::parse("11.0.0.0/8")->contains(mapped));
  EXPECT_FALSE(IpNetwork::parse("::/0")->contains(mapped));
  EXPECT_FALSE(IpNetwork::parse("::ffff:0:0/96")->contains(mapped));
}

}  // namespace
}  // namespace bastion::auth
