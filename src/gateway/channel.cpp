#include "gateway/channel.hpp"

#include <fcntl.h>
#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "protocol/json_span.hpp"
#include "protocol/jsonrpc.hpp"
#include "transport/ndjson.hpp"

namespace bastion::gateway {

namespace asio = boost::asio;
namespace json = boost::json;

std::string result_text_of(const json::object& msg, std::string_view text) {
  auto* r = msg.if_contains("result");
  if (!r || !r->is_object()) return {};
  auto span = protocol::member_text(text, "result");
  return span ? std::string(*span) : std::string();
}

FdChannel::FdChannel(asio::any_io_executor ex, int write_fd, int read_fd, FdChannelOptions opts)
    : ex_(ex),
      out_(ex, write_fd),
      in_(ex, read_fd),
      opts_(opts),
      lines_(opts.max_line_bytes),
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
  std::string lines;
  while (auto m = co_await queue_->pop()) {
    lines.clear();
    transport::append_line(lines, *m);
    // Drain what else is queued into the same write.
    while (auto more = queue_->try_pop()) transport::append_line(lines, *more);
    auto [ec, n] =
        co_await asio::async_write(out_, asio::buffer(lines), asio::as_tuple(asio::use_awaitable));
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

asio::awaitable<std::optional<Inbound>> FdChannel::receive() {
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (closed_) co_return std::nullopt;  // nothing more once closed
    }
    while (auto frame = lines_.next()) {
      if (frame->kind == transport::LineReader::Frame::kTooLong) {
        std::lock_guard lk(mu_);
        if (reason_.empty())
          reason_ =
              fmt::format("the server wrote a line longer than {} bytes", opts_.max_line_bytes);
        co_return std::nullopt;
      }
      auto parsed = protocol::parse_json(frame->text);
      if (parsed && parsed->is_object()) {
        json::object& o = parsed->get_object();
        std::string result = result_text_of(o, frame->text);
        co_return Inbound(std::move(o), std::nullopt, std::move(result));
      }
      // Not a JSON-RPC object: a banner, or a message with duplicate keys
      // (refused like every other entry point; the call it answered times
      // out rather than act on an ambiguous reply).
      if (!frame->text.empty()) ++skipped_;
    }
    auto [ec, n] =
        co_await in_.async_read_some(asio::buffer(chunk_), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      std::lock_guard lk(mu_);
      if (reason_.empty())
        reason_ = ec == asio::error::eof ? "the server closed its stdout"
                                         : "reading from the server failed: " + ec.message();
      co_return std::nullopt;
    }
    lines_.feed(std::string_view(chunk_.data(), n));
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
