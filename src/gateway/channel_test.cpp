#include "gateway/channel.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <string>

#include "gateway/channel_factory.hpp"
#include "gateway/http_channel.hpp"
#include "gateway/upstream.hpp"
#include "transport/ndjson.hpp"

namespace bastion::gateway {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// An FdChannel over two real pipes; the test plays the server on the other
// ends.
struct Pipes {
  asio::io_context ioc;
  int to_server[2];    // channel writes [1], the "server" reads [0]
  int from_server[2];  // the "server" writes [1], channel reads [0]
  std::shared_ptr<FdChannel> channel;

  explicit Pipes(std::size_t max_line = 1024) {
    EXPECT_EQ(::pipe(to_server), 0);
    EXPECT_EQ(::pipe(from_server), 0);
    channel = std::make_shared<FdChannel>(ioc.get_executor(), to_server[1], from_server[0],
                                          FdChannelOptions{max_line});
    channel->start();
  }
  ~Pipes() {
    channel->close();
    ioc.run_for(std::chrono::milliseconds(50));
    if (to_server[0] >= 0) ::close(to_server[0]);
    if (from_server[1] >= 0) ::close(from_server[1]);
  }
  void server_writes(std::string_view s) { ASSERT_TRUE(transport::write_all(from_server[1], s)); }
  void server_closes_stdout() {
    ::close(from_server[1]);
    from_server[1] = -1;
  }
  std::optional<json::object> receive() {
    auto f = asio::co_spawn(ioc, channel->receive(), asio::use_future);
    ioc.restart();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready &&
           std::chrono::steady_clock::now() < deadline)
      ioc.run_one_for(std::chrono::milliseconds(10));
    if (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      ADD_FAILURE() << "receive() did not complete";
      return std::nullopt;
    }
    auto in = f.get();
    if (!in) return std::nullopt;
    EXPECT_FALSE(in->related);  // stdio cannot tell which request a message came with
    return std::move(in->message);
  }
};

TEST(FdChannel, ReadsLinesSkipsBannersAndAmbiguousMessages) {
  Pipes p;
  p.server_writes("Server v1 starting...\r\n\n");
  p.server_writes("{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"result\":{}}\n");  // duplicate key
  p.server_writes("{\"jsonrpc\":\"2.0\",\"id\":3,\"res");
  p.server_writes("ult\":{}}\r\n");
  auto m = p.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("id"), json::value(3));
  EXPECT_EQ(p.channel->skipped_lines(), 2u);  // the banner and the duplicate; not the blank line
}

TEST(FdChannel, AnOverLongLineEndsTheChannel) {
  Pipes p(64);
  p.server_writes(std::string(100, 'x'));
  EXPECT_FALSE(p.receive());
  EXPECT_EQ(p.channel->close_reason(), "the server wrote a line longer than 64 bytes");
}

TEST(FdChannel, EndOfStdoutEndsTheChannel) {
  Pipes p;
  p.server_writes("{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n");
  p.server_closes_stdout();
  EXPECT_TRUE(p.receive());
  EXPECT_FALSE(p.receive());
  EXPECT_EQ(p.channel->close_reason(), "the server closed its stdout");
}

TEST(FdChannel, WritesOneLinePerMessage) {
  Pipes p;
  EXPECT_TRUE(p.channel->send(json::object{{"jsonrpc", "2.0"}, {"method", "a"}}));
  EXPECT_TRUE(p.channel->send(json::object{{"jsonrpc", "2.0"}, {"method", "b\nc"}}));
  p.ioc.restart();
  p.ioc.run_for(std::chrono::milliseconds(100));
  char buf[256];
  auto n = ::read(p.to_server[0], buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)),
            "{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\n{\"jsonrpc\":\"2.0\",\"method\":\"b\\nc\"}\n");
}

TEST(FdChannel, AFailedWriteClosesTheChannelSoLaterSendsFailAtOnce) {
  auto old = ::signal(SIGPIPE, SIG_IGN);
  {
    Pipes p;
    ::close(p.to_server[0]);  // the server's stdin is gone
    p.to_server[0] = -1;
    EXPECT_TRUE(p.channel->send(json::object{{"jsonrpc", "2.0"}, {"method", "lost"}}));
    p.ioc.restart();
    p.ioc.run_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(p.channel->send(json::object{{"jsonrpc", "2.0"}, {"method", "later"}}));
    EXPECT_NE(p.channel->close_reason().find("stdin of the server closed"), std::string::npos)
        << p.channel->close_reason();
    EXPECT_FALSE(p.receive());  // the read side ends too
  }
  ::signal(SIGPIPE, old);
}

// An unusable upstream URL is a launch failure returned as a value, from
// the parser, the channel and the factory alike: nothing throws, nothing runs.
TEST(HttpChannel, UnusableUrlIsAnErrorValue) {
  auto t = parse_http_url("http://127.0.0.1:9/mcp?x=1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, "9");
  EXPECT_EQ(t->path, "/mcp?x=1");
  EXPECT_EQ(parse_http_url("http://h")->path, "/");
  for (const char* bad : {"ftp://h/x", "https://h/x", "::not a url::", ""})
    EXPECT_FALSE(parse_http_url(bad).ok()) << bad;
  EXPECT_EQ(parse_http_url("ftp://h/x").reason(),
            "URL 'ftp://h/x': only http:// upstreams are supported");
  // The error is logged and shown to operators and clients: without the
  // URL's credentials.
  for (const char* bad : {"https://bob:pw-hunter2@h/x?api_key=sk-q1w2e3",
                          "http://bob:pw-hunter2@h:x/?api_key=sk-q1w2e3 "}) {
    std::string why = parse_http_url(bad).reason();
    for (const char* secret : {"pw-hunter2", "sk-q1w2e3"})
      EXPECT_EQ(why.find(secret), std::string::npos) << why;
  }

  asio::io_context ioc;
  auto hc = std::make_shared<HttpChannel>(ioc.get_executor(), HttpChannelOptions{"ftp://h/x"});
  auto started = hc->start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.reason().find("only http://"), std::string::npos);
  EXPECT_EQ(ioc.poll(), 0u);  // no writer, no stream was started

  UpstreamOptions o;
  o.name = "remote";
  o.url = "ftp://h/x";
  auto opened = default_channel_factory(o)(ChannelRequest{o, {}, {}, ioc.get_executor()});
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.reason().find("only http://"), std::string::npos);
}

}  // namespace
}  // namespace bastion::gateway
