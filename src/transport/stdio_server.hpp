// MCP over stdio: newline-delimited JSON-RPC on stdin/stdout, one session.
// Logs go to stderr only; nothing but protocol messages reaches stdout.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>
#include <thread>

#include "server/engine.hpp"

namespace bastion::transport {

struct StdioOptions {
  int in_fd = 0;
  int out_fd = 1;
  std::size_t max_line_bytes = 16 * 1024 * 1024;  // longer lines get a parse error
};

class StdioServer {
 public:
  StdioServer(boost::asio::io_context& ioc, server::Engine& engine, StdioOptions opts = {});
  ~StdioServer();
  // Serves until stdin reaches EOF (or stop()), then calls `on_done` on the
  // io_context.
  void start(std::function<void()> on_done);
  void stop();

 private:
  struct Impl;
  struct Link;
  std::shared_ptr<Impl> impl_;
  std::shared_ptr<Link> link_;
  std::thread reader_;
};

}  // namespace bastion::transport
