#include "transport/http_connection.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace bastion::transport {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// A connected pair on 127.0.0.1: the server side as an HttpConnection, the
// client side as a plain socket the test reads from.
struct Pair {
  asio::io_context ioc;
  std::atomic<bool> stopping{false};
  tcp::socket client{ioc};
  std::optional<HttpConnection> conn;

  explicit Pair(std::chrono::milliseconds write_timeout) {
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.connect(acceptor.local_endpoint());
    conn.emplace(acceptor.accept(), write_timeout, stopping);
  }

  // Runs write(res) to its end; what it returned.
  bool write(Response res) {
    std::optional<bool> kept;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { kept = co_await conn->write(std::move(res), true); },
        asio::detached);
    ioc.run();
    ioc.restart();
    EXPECT_TRUE(kept.has_value());
    return kept.value_or(false);
  }
};

Response answer(std::string body) {
  Response res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

// Reads one whole response off the client socket: its header and body.
std::pair<std::string, std::string> read_response(tcp::socket& s) {
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  boost::system::error_code ec;
  http::read(s, buf, parser, ec);
  if (ec) return {"read failed: " + ec.message(), ""};
  auto res = parser.release();
  return {std::to_string(res.result_int()) + " " + std::string(res[http::field::content_length]),
          res.body()};
}

// An answer the socket takes at once is written before write() returns;
// the connection stays open.
TEST(HttpConnectionWrite, ASmallAnswerIsWrittenWhole) {
  Pair p(std::chrono::seconds(5));
  const std::string body = R"({"jsonrpc":"2.0","id":1,"result":{}})";
  EXPECT_TRUE(p.write(answer(body)));
  auto [head, got] = read_response(p.client);
  EXPECT_EQ(head, "200 " + std::to_string(body.size()));
  EXPECT_EQ(got, body);
}

// An answer far larger than the send buffer: what the socket takes at once,
// then the rest as the peer reads, every byte in order.
TEST(HttpConnectionWrite, AnAnswerLargerThanTheSendBufferArrivesWholeAndInOrder) {
  Pair p(std::chrono::seconds(30));
  std::string body(16 << 20, 'x');
  for (std::size_t i = 0; i < body.size(); i += 4093) body[i] = static_cast<char>('a' + i % 26);
  std::string read_body;
  std::thread reader([&] { read_body = read_response(p.client).second; });
  EXPECT_TRUE(p.write(answer(body)));
  // Whatever write() left unwritten would now be lost: the reader sees the
  // end of the stream instead of the rest.
  p.conn->stream().socket().shutdown(tcp::socket::shutdown_send);
  reader.join();
  ASSERT_EQ(read_body.size(), body.size());
  EXPECT_TRUE(read_body == body);
}

// A peer that never reads: the part that does not fit waits under the write
// timeout, and the write then fails (the connection is not kept).
TEST(HttpConnectionWrite, APeerThatNeverReadsIsCutOffByTheWriteTimeout) {
  Pair p(std::chrono::milliseconds(200));
  EXPECT_FALSE(p.write(answer(std::string(64 << 20, 'x'))));
}

// A peer that is gone: the write fails at once.
TEST(HttpConnectionWrite, APeerThatIsGoneFailsTheWrite) {
  Pair p(std::chrono::seconds(5));
  p.client.set_option(asio::socket_base::linger(true, 0));
  p.client.close();  // RST
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(p.write(answer(std::string(1 << 20, 'x'))));
}

// What write() puts on the wire is what Beast's serializer writes for the
// same response (prepare_payload and keep-alive applied as write() does):
// the status line with its reason, every field in order, the body. The
// answers cover a reason of their own, HTTP/1.0, an empty body, and more
// fields than write() gathers without allocating.
TEST(HttpConnectionWrite, TheBytesAreThoseOfBeastsSerializer) {
  std::vector<std::pair<Response, bool>> cases;  // the answer, and the server stopping
  cases.emplace_back(answer(R"({"jsonrpc":"2.0","id":1,"result":{}})"), false);
  cases.emplace_back(answer("{}"), true);  // Connection: close
  Response odd{http::status::not_found, 11};
  odd.reason("Nowhere To Be Found");
  odd.set(http::field::content_type, "text/plain");
  odd.body() = "no";
  cases.emplace_back(std::move(odd), false);
  Response old{http::status::ok, 10};
  old.body() = "http/1.0 keeps alive on request";
  cases.emplace_back(std::move(old), false);
  cases.emplace_back(Response{http::status::accepted, 11}, false);  // no body
  Response many = answer(std::string(3000, 'y'));
  for (int i = 0; i < 30; ++i) many.insert("X-Field-" + std::to_string(i), std::to_string(i * i));
  cases.emplace_back(std::move(many), false);

  for (auto& [res, stopping] : cases) {
    Pair p(std::chrono::seconds(5));
    p.stopping = stopping;
    Response expect = res;
    expect.keep_alive(!stopping);
    expect.prepare_payload();
    std::ostringstream beast_text;
    beast_text << expect;

    EXPECT_EQ(p.write(std::move(res)), !stopping);
    p.conn->stream().socket().shutdown(tcp::socket::shutdown_send);
    std::string got;
    boost::system::error_code ec;
    asio::read(p.client, asio::dynamic_buffer(got), ec);
    EXPECT_EQ(ec, asio::error::eof);
    EXPECT_EQ(got, beast_text.str());
  }
}

}  // namespace
}  // namespace bastion::transport
