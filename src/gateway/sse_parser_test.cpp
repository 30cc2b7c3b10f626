#include "gateway/sse_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bastion::gateway {
namespace {

struct Seen {
  std::string type, data, id;
  bool operator==(const Seen&) const = default;
};

// Feeds `body` in pieces of `step` bytes; the events, and whether the parser
// accepted the whole body.
std::pair<std::vector<Seen>, bool> parse(std::string_view body, std::size_t step,
                                         std::size_t max = 1 << 20) {
  SseParser p(max);
  std::vector<Seen> out;
  auto on = [&](const SseParser::Event& e) {
    out.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
  };
  for (std::size_t i = 0; i < body.size(); i += step)
    if (!p.feed(body.substr(i, step), on)) return {out, false};
  return {out, true};
}

TEST(SseParser, Events) {
  struct Case {
    const char* name;
    std::string body;
    std::vector<Seen> want;
  };
  const std::vector<Case> cases = {
      {"one event", "data: {}\n\n", {{"", "{}", ""}}},
      {"crlf", "data: {}\r\n\r\n", {{"", "{}", ""}}},
      {"no space after colon", "data:x\n\n", {{"", "x", ""}}},
      {"only the first space goes", "data:  x\n\n", {{"", " x", ""}}},
      {"multi-line data", "data: a\ndata: b\n\n", {{"", "a\nb", ""}}},
      {"comment ignored", ": keepalive\ndata: x\n\n", {{"", "x", ""}}},
      {"event type", "event: endpoint\ndata: /messages\n\n", {{"endpoint", "/messages", ""}}},
      {"type resets after each event",
       "event: endpoint\ndata: a\n\ndata: b\n\n",
       {{"endpoint", "a", ""}, {"", "b", ""}}},
      {"id persists", "id: s-1\ndata: a\n\ndata: b\n\n", {{"", "a", "s-1"}, {"", "b", "s-1"}}},
      {"no data, no event", "event: x\n\nid: 3\n\n", {}},
      {"unknown field ignored", "retry: 1000\nfoo\ndata: x\n\n", {{"", "x", ""}}},
      {"unfinished event not dispatched", "data: x\n", {}},
      {"empty data line adds nothing", "data\ndata: x\n\n", {{"", "x", ""}}},
  };
  for (const auto& c : cases)
    for (std::size_t step : {std::size_t{1}, std::size_t{3}, c.body.size()}) {
      auto [got, ok] = parse(c.body, step);
      EXPECT_TRUE(ok) << c.name;
      EXPECT_EQ(got, c.want) << c.name << " (pieces of " << step << ")";
    }
}

TEST(SseParser, Retry) {
  // The delay the stream asks for before a reconnection (a resumed response
  // stream honours it); only ASCII digits count.
  struct Case {
    const char* body;
    std::optional<std::uint64_t> want;
  };
  const Case cases[] = {
      {"data: x\n\n", std::nullopt},
      {"retry: 250\ndata: x\n\n", 250},
      {"retry: 250\n", 250},  // applies without an event
      {"retry: 250\nretry: 10\n", 10},
      {"retry: 250\nretry: -1\nretry: 1.5\nretry: \nretry: x\n", 250},
      {"retry: 99999999999999999999999\n", 1'000'000'000},
  };
  for (const auto& c : cases) {
    SseParser p(1024);
    ASSERT_TRUE(p.feed(c.body, [](const SseParser::Event&) {}));
    EXPECT_EQ(p.retry_ms(), c.want) << c.body;
  }
}

TEST(SseParser, UnfinishedLineIsBounded) {
  // A peer that never ends a line cannot make the parser hold more than the bound.
  SseParser p(64);
  auto on = [](const SseParser::Event&) {};
  EXPECT_TRUE(p.feed(std::string(60, 'a'), on));
  EXPECT_FALSE(p.feed(std::string(10, 'a'), on));
}

TEST(SseParser, EventInProgressIsBounded) {
  // Only the unfinished line was bounded: an upstream sending `data:` lines
  // that never end the event grew the parser's memory without limit.
  SseParser p(64);
  auto on = [](const SseParser::Event&) {};
  std::size_t fed = 0;
  bool ok = true;
  while (ok && fed < 4096) {
    ok = p.feed("data: 0123456789\n", on);
    fed += 17;
  }
  EXPECT_FALSE(ok);
  EXPECT_LT(fed, 128u);
  // Events that end in time pass, however long the stream.
  SseParser q(64);
  int events = 0;
  auto count = [&](const SseParser::Event& e) { events += e.data == "0123456789\n0123456789"; };
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(q.feed("data: 0123456789\ndata: 0123456789\n\n", count));
  EXPECT_EQ(events, 1000);
}

TEST(SseParser, LongLineInSmallPiecesIsLinear) {
  // A line of 1 MB fed byte by byte, then ended: found, not rescanned.
  SseParser p(2 << 20);
  std::string got;
  auto on = [&](const SseParser::Event& e) { got = e.data; };
  ASSERT_TRUE(p.feed("data: ", on));
  for (int i = 0; i < (1 << 20); ++i) ASSERT_TRUE(p.feed("x", on));
  ASSERT_TRUE(p.feed("\n\n", on));
  EXPECT_EQ(got.size(), std::size_t{1} << 20);
}

}  // namespace
}  // namespace bastion::gateway
