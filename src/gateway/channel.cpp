#include "gateway/channel.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "protocol/jsonrpc.hpp"

namespace bastion::gateway {

namespace asio = boost::asio;
namespace json = boost::json;

FdChannel::FdChannel(asio::any_io_executor ex, int write_fd, int read_fd, FdChannelOptions opts)
    : ex_(ex),
      out_(ex, write_fd),
      in_(ex, read_fd),
      opts_(opts),
      queue_(std::make_shared<server::Mailbox>(ex, 100000)) {
  ::fcntl(write_fd, F_SETFL, ::fcntl(write_fd, F_GETFL) | O_NONBLOCK);
  ::fcntl(read_fd, F_SETFL, ::fcntl(read_fd, F_GETFL) | O_NONBLOCK);
}

FdChannel::~FdChannel() {
  boost::system::error_code ec;
  out_.close(ec);
  in_.close(ec);
}

void FdChannel::start() {
  asio::co_spawn(
      ex_, [self = shared_from_this()] { return self->writer(); }, asio::detached);
}

bool FdChannel::send(json::object msg) { return queue_->push(std::move(msg)); }

asio::awaitable<void> FdChannel::writer() {
  while (auto m = co_await queue_->pop()) {
    std::string line = json::serialize(*m);
    line.push_back('\n');
    // Drain what else is queued into the same write.
    while (auto more = queue_->try_pop()) {
      line += json::serialize(*more);
      line.push_back('\n');
    }
    auto [ec, n] =
        co_await asio::async_write(out_, asio::buffer(line), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      {
        std::lock_guard lk(mu_);
        if (reason_.empty()) reason_ = "stdin of the server closed: " + ec.message();
      }
      // The server cannot take more: later sends fail at once instead of
      // queueing for a reader that is gone, and the read side ends too.
      close();
      break;
    }
  }
  boost::system::error_code ignored;
  out_.close(ignored);
}

asio::awaitable<std::optional<json::object>> FdChannel::receive() {
  for (;;) {
    auto [ec, n] =
        co_await asio::async_read_until(in_, asio::dynamic_buffer(buf_, opts_.max_line_bytes + 1),
                                        '\n', asio::as_tuple(asio::use_awaitable));
    if (ec) {
      std::lock_guard lk(mu_);
      if (reason_.empty())
        reason_ =
            ec == asio::error::not_found
                ? fmt::format("the server wrote a line longer than {} bytes", opts_.max_line_bytes)
            : ec == asio::error::eof ? "the server closed its stdout"
                                     : "reading from the server failed: " + ec.message();
      co_return std::nullopt;
    }
    std::string_view line(buf_.data(), n - 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto parsed = protocol::parse_json(line);
    buf_.erase(0, n);
    if (parsed.index() == 0 && std::get<0>(parsed).is_object())
      co_return std::move(std::get<0>(parsed).get_object());
    if (!line.empty()) ++skipped_;
  }
}

void FdChannel::close() {
  {
    std::lock_guard lk(mu_);
    if (closed_) return;
    closed_ = true;
    if (reason_.empty()) reason_ = "closed by bastion";
  }
  queue_->close();
  asio::post(ex_, [self = shared_from_this()] {
    boost::system::error_code ec;
    self->in_.cancel(ec);
  });
}

std::string FdChannel::close_reason() const {
  std::lock_guard lk(mu_);
  return reason_;
}

}  // namespace bastion::gateway
