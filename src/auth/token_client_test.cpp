// The token client against a real AuthServer over a socket on 127.0.0.1.
#include "auth/token_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <thread>

#include "auth/server_fixture.hpp"

namespace bastion::auth {
namespace {

using testing::client_a;
using testing::Server;

// fetch_token over a real socket on 127.0.0.1 (port 0), served by handle().
TEST(TokenClient, FetchTokenOverLoopback) {
  Server s;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acc(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  unsigned short port = acc.local_endpoint().port();
  std::thread srv([&] {
    for (int i = 0; i < 2; ++i) {
      boost::asio::ip::tcp::socket sock(ioc);
      acc.accept(sock);
      boost::beast::flat_buffer buf;
      Request req;
      http::read(sock, buf, req);
      auto res = s.as->handle(req);
      http::write(sock, *res);
    }
  });
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  auto t = fetch_token(base, "mcp-client", client_a().secret, "extra");
  ASSERT_TRUE(t) << t.reason();
  EXPECT_EQ(t->scope, "extra");
  EXPECT_EQ(t->token_type, "Bearer");
  EXPECT_TRUE(s.as->validate(t->access_token));
  auto bad = fetch_token(base, "mcp-client", "wrong");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.reason().find("invalid_client"), std::string::npos);
  srv.join();
  EXPECT_FALSE(fetch_token("https://127.0.0.1:1", "a", "b"));
}

}  // namespace
}  // namespace bastion::auth
