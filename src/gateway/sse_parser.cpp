#include "gateway/sse_parser.hpp"

#include <algorithm>

namespace bastion::gateway {

SseParser::SseParser(std::size_t max_bytes) : max_(max_bytes) {}

bool SseParser::feed(std::string_view bytes, const OnEvent& on_event) {
  // pending_ never holds a '\n' before `from`: only the new bytes are
  // searched, so a long line fed in small pieces costs linear time.
  std::size_t from = pending_.size();
  pending_.append(bytes);
  std::size_t begin = 0, pos;
  while ((pos = pending_.find('\n', std::max(begin, from))) != std::string::npos) {
    std::string_view line(pending_.data() + begin, pos - begin);
    begin = pos + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (!data_.empty()) on_event(Event{type_, data_, id_});
      data_.clear();
      type_.clear();
      continue;
    }
    if (line[0] == ':') continue;
    auto colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    if (field == "data") {
      if (!data_.empty()) data_ += '\n';
      data_ += value;
      if (data_.size() > max_) return false;
    } else if (field == "id") {
      id_ = value;
    } else if (field == "event") {
      type_ = value;
    } else if (field == "retry") {
      // Digits only, else ignored; a huge value saturates (callers cap it).
      if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos) {
        std::uint64_t ms = 0;
        for (char c : value) ms = std::min<std::uint64_t>(ms * 10 + (c - '0'), 1'000'000'000);
        retry_ = ms;
      }
    }
  }
  pending_.erase(0, begin);
  // What is held for the event and line in progress is bounded: an upstream
  // that sends `data:` lines without ever ending the event, or a line without
  // an end, is cut off at max_bytes.
  return pending_.size() + data_.size() <= max_;
}

}  // namespace bastion::gateway
