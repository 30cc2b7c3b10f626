// The pieces of the zero-copy relay that live in the server module: the
// upstream's text of a result survives only what affirms it left the result
// alone, and goes on the wire under the client's id.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <utility>

#include "protocol/jsonrpc.hpp"
#include "server/filter.hpp"
#include "server/outbox.hpp"

namespace bastion::server {
namespace {

namespace json = boost::json;

TEST(RelayText, AnyWritableAccessToTheResultDropsTheText) {
  protocol::Outcome o(json::object{{"v", 1.5}});
  o.set_raw_result(R"({"v":1.50})");
  EXPECT_EQ(std::as_const(o).result().at("v"), 1.5);
  EXPECT_EQ(o.raw_result(), R"({"v":1.50})");  // read only: kept
  protocol::Outcome copy = o;
  EXPECT_EQ(copy.raw_result(), R"({"v":1.50})");
  o.result();  // may have been changed: gone
  EXPECT_EQ(o.raw_result(), "");
  protocol::Outcome err = protocol::internal_error("x");
  err.set_raw_result("{}");  // an error has no result text
  EXPECT_EQ(err.raw_result(), "");
}

struct Reads : Filter {
  std::string_view name() const override { return "reads"; }
  Verdict on_request(json::object&, CallContext&) override { return {}; }
  Verdict on_response(json::object& r, CallContext&) override {
    return r.contains("v") ? Verdict::unchanged() : Verdict::pass();
  }
};
struct Writes : Filter {
  std::string_view name() const override { return "writes"; }
  Verdict on_request(json::object&, CallContext&) override { return {}; }
  Verdict on_response(json::object& r, CallContext&) override {
    r["v"] = 2;
    return {};
  }
};
struct Silent : Filter {  // keeps the default on_response
  std::string_view name() const override { return "silent"; }
  Verdict on_request(json::object&, CallContext&) override { return {}; }
};

TEST(RelayText, ResultCountsAsUnchangedOnlyWhenEveryFilterSaysSo) {
  protocol::Principal p;
  auto unchanged = [&](std::vector<std::shared_ptr<Filter>> fs) {
    FilterChain chain;
    for (auto& f : fs) chain.add(f);
    CallContext cc{p, "s", "1", "tools/call", "up", "t"};
    json::object r{{"v", 1}};
    Verdict v = chain.run_response(r, cc);
    EXPECT_TRUE(v.ok());
    return v.result_unchanged;
  };
  EXPECT_TRUE(unchanged({}));
  EXPECT_TRUE(unchanged({std::make_shared<Reads>(), std::make_shared<Silent>()}));
  EXPECT_FALSE(unchanged({std::make_shared<Reads>(), std::make_shared<Writes>()}));
  EXPECT_FALSE(unchanged({std::make_shared<Writes>(), std::make_shared<Reads>()}));
}

TEST(RelayText, WireTextSplicesTheResultUnderTheClientsId) {
  Outgoing o = Outgoing::relayed_result(json::value("client-7"), R"({"v":1.50,"n":[1E2]})");
  EXPECT_TRUE(o.ends_request);
  EXPECT_EQ(wire_text(o), R"({"jsonrpc":"2.0","id":"client-7","result":{"v":1.50,"n":[1E2]}})");
  // Without a relayed text: the message as it is.
  Outgoing plain = Outgoing::response(protocol::make_result(3, json::object{{"v", 1.5}}));
  EXPECT_EQ(wire_text(plain), R"({"jsonrpc":"2.0","id":3,"result":{"v":1.5}})");
}

}  // namespace
}  // namespace bastion::server
