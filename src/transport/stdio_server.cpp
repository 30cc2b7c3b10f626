#include "transport/stdio_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
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
        write_all(opts.out_fd, server::wire_text(*m) + '\n');  // fails only when the client is gone
    }
    if (on_done) {
      auto f = std::move(on_done);
      f();
    }
  }

  void on_line(const std::string& line) {
    if (line.find_first_not_of(" \t") == std::string::npos) return;
    auto parsed = protocol::parse_json(line);
    if (!parsed) {
      out->push(protocol::make_error(nullptr, parsed.error()));
      return;
    }
    auto& v = parsed.value();
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

  // Lines and the end of input arrive from the reader thread (below).
  void post_line(std::string line) {
    asio::post(strand, [self = shared_from_this(), l = std::move(line)] { self->on_line(l); });
  }
  void post_too_long() {
    asio::post(strand, [self = shared_from_this()] {
      self->out->push(protocol::make_error(
          nullptr, {protocol::kParseError, "Parse error: message exceeds the size limit"}));
    });
  }
  void post_finish() {
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

// What the reader thread shares with the server. Blocking reads run on a
// thread of their own (stdin may be a file, a pipe or a terminal, and only
// some of those work with epoll), and a read cannot be interrupted, so the
// thread outlives the server when it is destroyed mid-read: it then must not
// touch the server, nor hold the last reference to anything of the
// io_context's (a strand destroyed after its io_context is a use after free).
// It holds only this link, which the server's destructor cuts.
struct StdioServer::Link {
  std::mutex m;
  Impl* server = nullptr;  // null once the server is gone

  // Runs `f` on the server if it is still there; false once it is not.
  template <typename F>
  bool with_server(F&& f) {
    std::lock_guard lock(m);
    if (!server) return false;
    f(*server);
    return true;
  }
};

StdioServer::StdioServer(asio::io_context& ioc, server::Engine& engine, StdioOptions opts)
    : impl_(std::make_shared<Impl>(ioc, engine, opts)), link_(std::make_shared<Link>()) {
  link_->server = impl_.get();
}

StdioServer::~StdioServer() {
  stop();
  {
    std::lock_guard lock(link_->m);
    link_->server = nullptr;
  }
  if (reader_.joinable()) reader_.detach();
}

void StdioServer::start(std::function<void()> on_done) {
  impl_->on_done = std::move(on_done);
  impl_->session = impl_->engine.create_session(protocol::Principal::anonymous());
  impl_->out = std::make_shared<server::Outbox>(impl_->ioc.get_executor(), 100000);
  impl_->session->attach_standalone(impl_->out);
  asio::co_spawn(impl_->ioc, impl_->writer(), asio::detached);
  reader_ = std::thread([link = link_, fd = impl_->opts.in_fd, max = impl_->opts.max_line_bytes] {
    LineReader reader(max);
    read_lines(fd, reader, [&link](const LineReader::Frame& f) {
      bool more = false;
      bool there = link->with_server([&](Impl& s) {
        if (s.stopping) return;
        more = true;
        if (f.kind == LineReader::Frame::kTooLong)
          s.post_too_long();
        else
          s.post_line(std::string(f.text));
      });
      return there && more;
    });
    link->with_server([](Impl& s) { s.post_finish(); });
  });
}

void StdioServer::stop() { impl_->stopping = true; }

}  // namespace bastion::transport
