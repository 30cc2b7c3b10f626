#include "transport/stdio_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "protocol/version.hpp"
#include "server/outbox.hpp"
#include "server/session.hpp"
#include "transport/ndjson.hpp"

namespace bastion::transport {

namespace asio = boost::asio;
namespace json = boost::json;

struct StdioServer::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& ioc;
  server::Engine& engine;
  StdioOptions opts;
  std::shared_ptr<server::Session> session;
  std::shared_ptr<server::Outbox> out;
  std::thread reader;
  std::atomic<bool> stopping{false};
  std::function<void()> on_done;
  // Lines are handled in order even when the io_context has several threads.
  asio::strand<asio::io_context::executor_type> strand;

  Impl(asio::io_context& i, server::Engine& e, StdioOptions o)
      : ioc(i), engine(e), opts(o), strand(asio::make_strand(i)) {}

  asio::awaitable<void> writer() {
    for (;;) {
      auto m = co_await out->pop();
      if (!m) break;
      if (m->message)
        write_all(opts.out_fd, to_line(*m->message));  // fails only when the client is gone
    }
    if (on_done) {
      auto f = std::move(on_done);
      f();
    }
  }

  void on_line(const std::string& line) {
    if (line.find_first_not_of(" \t") == std::string::npos) return;
    auto parsed = protocol::parse_json(line);
    if (parsed.index() == 1) {
      out->push(protocol::make_error(nullptr, std::get<1>(parsed)));
      return;
    }
    auto& v = std::get<0>(parsed);
    if (v.is_array()) {
      auto& arr = v.get_array();
      // Only a session that negotiated 2025-03-26 may batch; `[initialize]`
      // never can (nothing is negotiated before it).
      if (!session->allows_batches() || arr.empty()) {
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
    LineReader reader(opts.max_line_bytes);
    read_lines(opts.in_fd, reader, [this](const LineReader::Frame& f) {
      if (stopping) return false;
      if (f.kind == LineReader::Frame::kTooLong) {
        asio::post(strand, [self = shared_from_this()] {
          self->out->push(protocol::make_error(
              nullptr, {protocol::kParseError, "Parse error: message exceeds the size limit"}));
        });
        return true;
      }
      asio::post(strand,
                 [self = shared_from_this(), l = std::string(f.text)] { self->on_line(l); });
      return true;
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
  impl_->out = std::make_shared<server::Outbox>(impl_->ioc.get_executor(), 100000);
  impl_->session->attach_standalone(impl_->out);
  asio::co_spawn(impl_->ioc, impl_->writer(), asio::detached);
  impl_->reader = std::thread([self = impl_] { self->read_loop(); });
}

void StdioServer::stop() { impl_->stopping = true; }

}  // namespace bastion::transport
