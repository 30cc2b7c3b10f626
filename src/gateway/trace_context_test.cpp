#include "gateway/trace_context.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace bastion::gateway {
namespace {

namespace json = boost::json;

constexpr const char* kGood = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01";

TEST(TraceContext, Tracestate) {
  struct Case {
    std::string v;
    bool ok;
  };
  const Case cases[] = {
      {"congo=t61rcWkgMzE", true},
      {"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", true},
      {"rojo=1, congo=2 ,", true},
      {"tenant@vendor=x", true},
      {"", true},
      {"Rojo=1", false},  // keys are lowercase
      {"rojo", false},
      {"=1", false},
      {"rojo=", false},
      {"rojo=a=b", false},
      {"rojo=1\r\nX-Injected: 1", false},
      {"rojo=caf\xc3\xa9", false},
      {std::string(513, 'a'), false},
  };
  for (const auto& c : cases) EXPECT_EQ(valid_tracestate(c.v), c.ok) << c.v;
  std::string many;
  for (int i = 0; i < 33; ++i) many += (i ? ",k" : "k") + std::to_string(i) + "=v";
  EXPECT_FALSE(valid_tracestate(many));
}

TEST(TraceContext, KeptWhenValidDroppedWhenNot) {
  struct Case {
    const char* name;
    json::object meta;
    json::object want;
  };
  const Case cases[] = {
      {"both valid",
       {{"traceparent", kGood}, {"tracestate", "a=1"}, {"x", 1}},
       {{"traceparent", kGood}, {"tracestate", "a=1"}, {"x", 1}}},
      {"malformed parent drops both",
       {{"traceparent", "garbage\r\nX-Injected: 1"}, {"tracestate", "a=1"}, {"x", 1}},
       {{"x", 1}}},
      {"parent not a string", {{"traceparent", 7}}, {}},
      {"uppercase hex parent",
       {{"traceparent", "00-0AF7651916CD43DD8448EB211C80319C-00f067aa0ba902b7-01"}},
       {}},
      {"state without parent", {{"tracestate", "a=1"}}, {}},
      {"bad state, good parent",
       {{"traceparent", kGood}, {"tracestate", "a=1\n"}},
       {{"traceparent", kGood}}},
      {"state not a string",
       {{"traceparent", kGood}, {"tracestate", json::array{}}},
       {{"traceparent", kGood}}},
      {"none", {{"progressToken", 3}}, {{"progressToken", 3}}},
  };
  for (const auto& c : cases) {
    json::object m = c.meta;
    sanitize_trace_context(m);
    EXPECT_EQ(m, c.want) << c.name;
  }
}

}  // namespace
}  // namespace bastion::gateway
