#include "transport/ndjson.hpp"

#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>

#include "protocol/json_text.hpp"

namespace bastion::transport {

namespace {
std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}
}  // namespace

LineReader::LineReader(std::size_t max_line_bytes) : max_(max_line_bytes) {}

void LineReader::feed(std::string_view bytes) {
  if (dropping_) {
    auto nl = bytes.find('\n');
    if (nl == std::string_view::npos) return;  // still inside the over-long line
    dropping_ = false;
    bytes.remove_prefix(nl + 1);
  }
  // Consumed lines go before the buffer grows: what stays is at most one
  // unfinished line.
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    scanned_ -= pos_;
    pos_ = 0;
  }
  // Still the same unfinished line and already past the limit: drop it now
  // rather than grow the buffer first.
  if (scanned_ == buf_.size() && bytes.find('\n') == std::string_view::npos &&
      buf_.size() + bytes.size() > max_ + 1) {
    buf_.clear();
    scanned_ = 0;
    dropping_ = true;
    too_long_ = true;
    return;
  }
  buf_.append(bytes);
}

std::optional<LineReader::Frame> LineReader::next() {
  if (too_long_) {
    too_long_ = false;
    return Frame{Frame::kTooLong, {}};
  }
  auto nl = buf_.find('\n', scanned_);
  if (nl != std::string::npos) {
    std::string_view line = strip_cr(std::string_view(buf_).substr(pos_, nl - pos_));
    pos_ = scanned_ = nl + 1;
    if (line.size() > max_) return Frame{Frame::kTooLong, {}};
    return Frame{Frame::kLine, line};
  }
  scanned_ = buf_.size();
  std::size_t held = buf_.size() - pos_;
  // One byte over the limit may still be the "\r" of a "\r\n".
  bool too_long = held > max_ + 1 || (held == max_ + 1 && buf_.back() != '\r');
  if (!too_long) return std::nullopt;
  buf_.clear();
  pos_ = scanned_ = 0;
  dropping_ = true;
  return Frame{Frame::kTooLong, {}};
}

std::optional<LineReader::Frame> LineReader::finish() {
  if (too_long_) {
    too_long_ = dropping_ = false;
    return Frame{Frame::kTooLong, {}};
  }
  if (dropping_) {
    dropping_ = false;
    return std::nullopt;
  }
  if (pos_ == buf_.size()) return std::nullopt;
  std::string_view line = strip_cr(std::string_view(buf_).substr(pos_));
  pos_ = scanned_ = buf_.size();
  if (line.size() > max_) return Frame{Frame::kTooLong, {}};
  return Frame{Frame::kLine, line};
}

void append_line(std::string& out, const boost::json::value& msg) {
  protocol::append_json(out, msg);
  out.push_back('\n');
}

void append_line(std::string& out, const boost::json::object& msg) {
  protocol::append_json(out, msg);
  out.push_back('\n');
}

std::string to_line(const boost::json::value& msg) {
  std::string out;
  append_line(out, msg);
  return out;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

long read_some(int fd, char* buf, std::size_t size) {
  for (;;) {
    ssize_t n = ::read(fd, buf, size);
    if (n < 0 && errno == EINTR) continue;
    return static_cast<long>(n);
  }
}

}  // namespace bastion::transport
