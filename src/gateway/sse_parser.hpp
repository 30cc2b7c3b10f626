// The Server-Sent Events parser of the upstream HTTP client (http_channel):
// turns a response body, fed in pieces as it arrives, into events (WHATWG
// HTML §9.2.6, the parts MCP uses: data, id, event, retry, comments). Pure: no I/O,
// so tests and the fuzzer drive it with bytes.
//
// The bytes held for the event in progress (its data so far and an
// unfinished line) are bounded: past `max_bytes` the stream is refused (feed
// returns false) and the caller drops the connection. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace bastion::gateway {

class SseParser {
 public:
  struct Event {
    std::string_view type;  // the `event:` field, empty for the default "message"
    std::string_view data;  // `data:` lines joined with "\n"
    std::string_view id;    // the last `id:` seen on the stream, this event's or earlier
  };
  using OnEvent = std::function<void(const Event&)>;

  explicit SseParser(std::size_t max_bytes);

  // Bytes of the body, split anywhere. Calls `on_event` for each event a
  // blank line completes (events without data are not dispatched). False
  // once the stream broke the bound; the parser must not be fed again.
  // Events seen before the bound broke are dispatched.
  bool feed(std::string_view bytes, const OnEvent& on_event);

  // The reconnection delay the stream asked for with its last valid
  // `retry:` field (ASCII digits only, as the standard says), if any.
  std::optional<std::uint64_t> retry_ms() const { return retry_; }

  // Bytes held for the event in progress (for tests and the fuzzer's bound check).
  std::size_t buffered() const { return pending_.size() + data_.size(); }

 private:
  std::size_t max_;
  std::string pending_;  // an unfinished line
  std::string data_, id_, type_;
  std::optional<std::uint64_t> retry_;
};

}  // namespace bastion::gateway
