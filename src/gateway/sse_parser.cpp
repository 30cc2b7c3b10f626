#include "gateway/sse_parser.hpp"

namespace bastion::gateway {

SseParser::SseParser(std::size_t max_bytes) : max_(max_bytes) {}

bool SseParser::feed(std::string_view bytes, const OnEvent& on_event) {
  pending_.append(bytes);
  if (pending_.size() > max_) return false;
  std::size_t pos;
  while ((pos = pending_.find('\n')) != std::string::npos) {
    std::string line = pending_.substr(0, pos);
    pending_.erase(0, pos + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      if (!data_.empty()) on_event(Event{type_, data_, id_});
      data_.clear();
      type_.clear();
      continue;
    }
    if (line[0] == ':') continue;
    auto colon = line.find(':');
    std::string field = line.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "data")
      data_ += (data_.empty() ? "" : "\n") + value;
    else if (field == "id")
      id_ = value;
    else if (field == "event")
      type_ = value;
  }
  return true;
}

}  // namespace bastion::gateway
