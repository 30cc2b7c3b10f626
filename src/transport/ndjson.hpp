// Newline-delimited JSON framing for the stdio transports (`bastion stdio`,
// the `connect` bridge, stdio upstreams): a bounded line reader that whoever
// does the I/O feeds with bytes, and the matching writer side.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bastion::transport {

// Splits a byte stream into lines ("\n" or "\r\n"), holding at most
// `max_line_bytes` of an unfinished line: a longer line is reported once as
// kTooLong and the rest of it is dropped as it arrives, so a peer that never
// sends a newline cannot make the reader grow. Not thread-safe.
//
//   LineReader r(limit);
//   r.feed(bytes);                  // after each read
//   while (auto f = r.next()) ...   // until nullopt, before the next feed
//   if (auto f = r.finish()) ...    // at end of stream: an unterminated last line
class LineReader {
 public:
  struct Frame {
    enum Kind { kLine, kTooLong } kind;
    // The line without its terminator; valid until the next call on the
    // reader. Empty for kTooLong.
    std::string_view text;
  };

  explicit LineReader(std::size_t max_line_bytes);

  // Bytes read from the stream, any amount, split anywhere.
  void feed(std::string_view bytes);
  // The next complete line (or over-long-line report); nullopt when more
  // bytes are needed.
  std::optional<Frame> next();
  // End of stream: what was left without a terminating newline, if anything.
  std::optional<Frame> finish();

  std::size_t max_line_bytes() const { return max_; }
  // Bytes held for the unfinished line (for tests: never above the limit + 1).
  std::size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;      // start of the unconsumed part of buf_
  std::size_t scanned_ = 0;  // buf_[pos_, scanned_) has no newline
  bool dropping_ = false;    // inside an over-long line
  bool too_long_ = false;    // ... not reported yet
};

// One message as a line: compact JSON followed by "\n". Serialized JSON has
// no raw newline (strings escape it), so a message is always one line.
void append_line(std::string& out, const boost::json::value& msg);
void append_line(std::string& out, const boost::json::object& msg);
std::string to_line(const boost::json::value& msg);

// Blocking helpers for the processes' own stdin/stdout, which may be a pipe,
// a file or a terminal (not all of which work with epoll).
//
// Writes everything, retrying on EINTR and short writes; false once the fd
// fails (the reader went away).
bool write_all(int fd, std::string_view data);
// Reads `fd` until end of file or error, passing each frame to `on_frame`
// (LineReader rules; an unterminated last line counts as a line). Stops
// early when `on_frame` returns false.
template <class OnFrame>
void read_lines(int fd, LineReader& reader, OnFrame&& on_frame);

// Reads once into `buf`; the count, 0 at end of file, -1 on error (EINTR is
// retried). Out of line so this header does not pull in <unistd.h>.
long read_some(int fd, char* buf, std::size_t size);

template <class OnFrame>
void read_lines(int fd, LineReader& reader, OnFrame&& on_frame) {
  char chunk[65536];
  for (;;) {
    long n = read_some(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    reader.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
    while (auto f = reader.next())
      if (!on_frame(*f)) return;
  }
  if (auto f = reader.finish()) on_frame(*f);
}

}  // namespace bastion::transport
