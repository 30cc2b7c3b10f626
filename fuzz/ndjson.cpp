// The NDJSON line reader of the stdio transports (`bastion stdio`, the
// `connect` bridge, stdio upstreams), fed the way reads arrive: in pieces
// split anywhere. Input: one byte for the line limit, one for the piece
// size, then the stream. Promises checked: whatever the split, the same
// frames come out; it never holds more than the limit + 1 bytes; every line
// is at most the limit and holds no '\n'; when no line is too long, the
// lines joined with '\n' are the stream (less "\r" before "\n").
#include "transport/ndjson.hpp"

#include <vector>

#include "fuzz_util.hpp"

using namespace bastion;
using transport::LineReader;

namespace {

struct Frame {
  bool too_long;
  std::string text;
  bool operator==(const Frame&) const = default;
};

std::vector<Frame> read_all(std::string_view stream, std::size_t limit, std::size_t piece) {
  LineReader r(limit);
  std::vector<Frame> out;
  auto take = [&](const LineReader::Frame& f) {
    bool too_long = f.kind == LineReader::Frame::kTooLong;
    FUZZ_CHECK(!too_long || f.text.empty());
    FUZZ_CHECK(f.text.size() <= limit);
    FUZZ_CHECK(f.text.find('\n') == std::string_view::npos);
    out.push_back({too_long, std::string(f.text)});
  };
  for (std::size_t i = 0; i < stream.size(); i += piece) {
    r.feed(stream.substr(i, piece));
    FUZZ_CHECK(r.buffered() <= limit + 1 + piece);
    while (auto f = r.next()) take(*f);
    FUZZ_CHECK(r.buffered() <= limit + 1);
  }
  if (auto f = r.finish()) take(*f);
  FUZZ_CHECK(!r.finish());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t limit = 1 + data[0] % 64;
  std::size_t piece = 1 + data[1] % 32;
  std::string_view stream = fuzz::as_text(data + 2, size - 2);
  auto frames = read_all(stream, limit, piece);
  FUZZ_CHECK(frames == read_all(stream, limit, stream.size() + 1));
  bool any_too_long = false;
  for (const auto& f : frames) any_too_long = any_too_long || f.too_long;
  if (!any_too_long) {
    // Exactly the stream's lines: split at '\n', one '\r' before it
    // dropped, and an unterminated last line kept.
    std::vector<Frame> expect;
    std::string_view rest = stream;
    while (!rest.empty()) {
      std::string_view line = fuzz::take(rest, '\n');
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      expect.push_back({false, std::string(line)});
    }
    FUZZ_CHECK(frames == expect);
  }
  return 0;
}
