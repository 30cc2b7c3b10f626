#include "transport/stdio_server.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <thread>

#include "protocol/version.hpp"
#include "server/mailbox.hpp"
#include "server/session.hpp"

namespace bastion::transport {

namespace asio = boost::asio;
namespace json = boost::json;

struct StdioServer::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& ioc;
  server::Engine& engine;
  StdioOptions opts;
  std::shared_ptr<server::Session> session;
  std::shared_ptr<server::Mailbox> out;
  std::thread reader;
  std::atomic<bool> stopping{false};
  std::function<void()> on_done;
  // Lines are handled in order even when the io_context has several threads.
  asio::strand<asio::io_context::executor_type> strand;

  Impl(asio::io_context& i, server::Engine& e, StdioOptions o)
      : ioc(i), engine(e), opts(o), strand(asio::make_strand(i)) {}

  void write_all(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::write(opts.out_fd, s.data() + off, s.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;  // stdout closed: the client is gone
      }
      off += static_cast<std::size_t>(n);
    }
  }

  asio::awaitable<void> writer() {
    for (;;) {
      auto m = co_await out->pop();
      if (!m) break;
      if (server::is_done_marker(*m)) continue;
      std::string line = json::serialize(*m);
      line.push_back('\n');
      write_all(line);
    }
    if (on_done) {
      auto f = std::move(on_done);
      f();
    }
  }

  void on_line(std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) return;
    auto parsed = protocol::parse_json(line);
    if (parsed.index() == 1) {
      out->push(protocol::make_error(nullptr, std::get<1>(parsed)));
      return;
    }
    auto& v = std::get<0>(parsed);
    if (v.is_array()) {
      auto& arr = v.get_array();
      if (!protocol::allows_batches(session->protocol_version()) || arr.empty()) {
        out->push(protocol::make_error(
            nullptr, {protocol::kInvalidRequest, "Invalid Request: batches are not supported"}));
        return;
      }
      for (auto& e : arr) deliver(std::move(e));
      return;
    }
    deliver(std::move(v));
  }

  void deliver(json::value v) {
    if (!v.is_object()) {
      out->push(protocol::make_error(
          nullptr, {protocol::kInvalidRequest, "Invalid Request: message must be an object"}));
      return;
    }
    session->deliver(std::move(v.get_object()), out, ioc.get_executor());
  }

  // Blocking reads on a thread of its own: stdin may be a file, a pipe or a
  // terminal, and only some of those work with epoll.
  void read_loop() {
    std::string buf;
    std::string line;
    bool discarding = false;
    char chunk[65536];
    for (;;) {
      ssize_t n = ::read(opts.in_fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || stopping) break;
      std::size_t start = 0;
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        if (chunk[i] != '\n') continue;
        if (!discarding) {
          line.append(chunk + start, i - start);
          asio::post(strand, [self = shared_from_this(), l = std::move(line)]() mutable {
            self->on_line(std::move(l));
          });
        }
        line.clear();
        discarding = false;
        start = i + 1;
      }
      if (!discarding) {
        line.append(chunk + start, static_cast<std::size_t>(n) - start);
        if (line.size() > opts.max_line_bytes) {
          line.clear();
          discarding = true;
          asio::post(strand, [self = shared_from_this()] {
            self->out->push(protocol::make_error(
                nullptr, {protocol::kParseError, "Parse error: message exceeds the size limit"}));
          });
        }
      }
    }
    if (!line.empty() && !discarding)
      asio::post(strand, [self = shared_from_this(), l = std::move(line)]() mutable {
        self->on_line(std::move(l));
      });
    asio::post(strand, [self = shared_from_this()] {
      asio::co_spawn(self->strand, self->finish(), asio::detached);
    });
  }

  // EOF on stdin: let requests already read finish (bounded), flush their
  // responses, then end. `echo '{...}' | bastion stdio` must print its answer.
  asio::awaitable<void> finish() {
    asio::steady_timer t(strand);
    for (int i = 0; i < 3000 && session->in_flight() > 0; ++i) {
      t.expires_after(std::chrono::milliseconds(10));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    engine.close_session(session->id());
    out->close();
  }
};

StdioServer::StdioServer(asio::io_context& ioc, server::Engine& engine, StdioOptions opts)
    : impl_(std::make_shared<Impl>(ioc, engine, opts)) {}

StdioServer::~StdioServer() {
  stop();
  if (impl_->reader.joinable()) impl_->reader.detach();
}

void StdioServer::start(std::function<void()> on_done) {
  impl_->on_done = std::move(on_done);
  impl_->session = impl_->engine.create_session(protocol::Principal::anonymous());
  impl_->out = std::make_shared<server::Mailbox>(impl_->ioc.get_executor(), 100000);
  impl_->session->attach_standalone(impl_->out);
  asio::co_spawn(impl_->ioc, impl_->writer(), asio::detached);
  impl_->reader = std::thread([self = impl_] { self->read_loop(); });
}

void StdioServer::stop() { impl_->stopping = true; }

}  // namespace bastion::transport
