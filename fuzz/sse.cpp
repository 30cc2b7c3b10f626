// The SSE parser of the upstream HTTP client (gateway::SseParser): what a
// remote MCP server streams back, fed in pieces split anywhere. Input: one
// byte for the piece size, then the body. Promises checked: the same events
// whatever the split (until the bound refuses the stream); what it holds
// for the event in progress stays within the bound; an event always has
// data, and no more than the bound.
#include <vector>

#include "fuzz_util.hpp"
#include "gateway/sse_parser.hpp"

namespace {

using namespace bastion;
using gateway::SseParser;

constexpr std::size_t kMax = 1024;

struct Seen {
  std::string type, data, id;
  bool operator==(const Seen&) const = default;
};

// The events, and whether the whole body was accepted.
std::pair<std::vector<Seen>, bool> parse(std::string_view body, std::size_t piece) {
  SseParser p(kMax);
  std::vector<Seen> out;
  auto on = [&](const SseParser::Event& e) {
    FUZZ_CHECK(!e.data.empty() && e.data.size() <= kMax);
    out.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
  };
  for (std::size_t i = 0; i < body.size(); i += piece) {
    if (!p.feed(body.substr(i, piece), on)) return {out, false};
    FUZZ_CHECK(p.buffered() <= kMax);
  }
  return {out, true};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::size_t piece = 1 + data[0] % 64;
  std::string_view body = fuzz::as_text(data + 1, size - 1);
  auto [events, ok] = parse(body, piece);
  auto [whole, whole_ok] = parse(body, body.size() + 1);
  // A refusal may come earlier or later depending on the split; the events
  // both saw agree.
  if (ok && whole_ok) FUZZ_CHECK(events == whole);
  for (std::size_t i = 0; i < std::min(events.size(), whole.size()); ++i)
    FUZZ_CHECK(events[i] == whole[i]);
  return 0;
}
