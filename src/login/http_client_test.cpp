// The identity-provider HTTP client: a provider that accepts the connection
// and then never answers costs a call its deadline, never more.
#include "login/http_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

namespace bastion::login {
namespace {

using namespace std::chrono_literals;

// Listens on 127.0.0.1 (port 0) and never accepts: the kernel completes the
// TCP handshake, so a client connects and then waits for an answer that
// never comes. Closing it resets the queued connections.
class StallingServer {
 public:
  StallingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot listen");
    port_ = ntohs(a.sin_port);
  }
  ~StallingServer() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Attack: an identity provider (or a proxy on the way) accepts and stalls.
// The calls were synchronous, so HttpCall::timeout did nothing and a
// sign-in held its route thread (and the provider's lock) for ever. Now
// the call fails once its deadline has passed, for http and for https
// (where the TLS handshake is what stalls).
TEST(HttpCall, AProviderThatAcceptsAndNeverAnswersFailsAtTheDeadline) {
  for (std::string scheme : {"http", "https"}) {
    SCOPED_TRACE(scheme);
    StallingServer server;
    HttpCall call;
    call.url = scheme + "://127.0.0.1:" + std::to_string(server.port()) +
               "/.well-known/openid-configuration";
    call.timeout = 300ms;
    auto result = std::async(std::launch::async, [&] { return http_call(call); });
    // Generous: only a call that ignores its deadline gets anywhere near it.
    bool answered = result.wait_for(30s) == std::future_status::ready;
    server.close();  // unblocks a call that never gives up
    auto r = result.get();
    EXPECT_TRUE(answered) << "the call did not give up at its deadline";
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.reason().find("no answer within 300 ms"), std::string::npos) << r.reason();
  }
}

// Use: plain http to another machine is still refused, before any connection.
TEST(HttpCall, PlainHttpOnlyToThisMachine) {
  HttpCall call;
  call.url = "http://idp.example/.well-known/openid-configuration";
  auto r = http_call(call);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.reason().find("only https"), std::string::npos) << r.reason();
}

}  // namespace
}  // namespace bastion::login
