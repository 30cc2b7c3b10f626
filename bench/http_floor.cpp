// The floor under Bastion's direct path: the same libraries and the same
// shape (N worker loops, one io_context and thread each, as
// transport/io_workers; a coroutine per connection, Beast's parser and
// serializer, keep-alive), answering every
// POST with the fixed JSON-RPC result `serve --testkit`'s echo gives, and
// nothing else: no JSON, no session, no filter, no audit record.
// bench/cpu_per_call --floor runs it beside Bastion and nginx, so what the
// libraries cost and what Bastion's own work costs are told apart
// (bench/results/profile.md).
//   http_floor --listen 127.0.0.1:PORT [--threads N] [--shared]
//     (N = 0: one per core; --shared: Bastion's shape before the workers,
//     one io_context run by N threads and a strand per connection)
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kBody =
    R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello from wrk"}]}})";

asio::awaitable<void> serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    auto [ec, n] =
        co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    res.keep_alive(req.keep_alive());
    res.body() = kBody;
    res.prepare_payload();
    auto [wec, w] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    if (wec || !res.keep_alive()) co_return;
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, asio::io_context& ioc,
                                  std::vector<std::unique_ptr<asio::io_context>>* workers) {
  std::size_t next = 0;
  for (;;) {
    asio::any_io_executor owner = asio::make_strand(ioc);
    if (workers) owner = (*workers)[next++ % workers->size()]->get_executor();
    auto [ec, sock] = co_await acceptor.async_accept(owner, asio::as_tuple(asio::use_awaitable));
    if (ec) continue;
    auto ex = sock.get_executor();
    asio::co_spawn(ex, serve(std::move(sock)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen;
  unsigned threads = 0;
  bool per_thread = true;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--shared") {
      per_thread = false;
      continue;
    }
    if (i + 1 >= argc) break;
    if (a == "--listen")
      listen = argv[i + 1];
    else if (a == "--threads")
      threads = static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
    ++i;
  }
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "usage: http_floor --listen HOST:PORT [--threads N]\n");
    return 2;
  }
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  asio::io_context ioc;  // as App::io_ (no concurrency hint)
  tcp::acceptor acceptor(
      ioc, tcp::endpoint(asio::ip::make_address(listen.substr(0, colon)),
                         static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))));
  std::vector<std::unique_ptr<asio::io_context>> workers;
  if (per_thread)
    for (unsigned i = 0; i < threads; ++i) workers.push_back(std::make_unique<asio::io_context>(1));
  asio::co_spawn(ioc, accept_loop(acceptor, ioc, per_thread ? &workers : nullptr), asio::detached);
  asio::signal_set stop(ioc, SIGINT, SIGTERM);
  stop.async_wait([&](auto, int) {
    ioc.stop();
    for (auto& w : workers) w->stop();
  });
  std::vector<std::thread> pool;
  if (per_thread) {
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    for (auto& w : workers) guards.push_back(asio::make_work_guard(*w));
    for (auto& w : workers) pool.emplace_back([&w] { w->run(); });
    ioc.run();
    for (auto& g : guards) g.reset();
    for (auto& w : workers) w->stop();
    for (auto& t : pool) t.join();
    return 0;
  }
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  return 0;
}
