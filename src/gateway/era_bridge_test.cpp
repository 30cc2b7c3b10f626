// The era bridge with a scripted Legacy server and a Modern client in process:
// the requests a server has pending together become one round, and each
// answer of the retry reaches only the request of its own key.
#include <gtest/gtest.h>

#include "gateway/test_harness.hpp"

namespace bastion::gateway::testing {
namespace {

const json::object kCall{{"name", "s__two"}, {"arguments", json::object{}}};

// The key of the input request with `method` in an input_required response.
std::string key_of(const json::object& response, std::string_view method) {
  for (const auto& kv : response.at("result").at("inputRequests").as_object())
    if (kv.value().at("method").as_string() == method) return std::string(kv.key());
  return "";
}

TEST(EraBridge, RequestsPendingTogetherAreOneRound) {
  GatewayHarness h({fake_server("s")});
  h.fakes.script("s", two_asks());
  h.start();
  auto c = h.connect_modern();
  auto first = h.request(c, "tools/call", as_modern(kCall));
  ASSERT_EQ(first.at("result").at("resultType"), "input_required") << json::serialize(first);
  EXPECT_EQ(first.at("result").at("inputRequests").as_object().size(), 2u);
  std::string e = key_of(first, "elicitation/create"), s = key_of(first, "sampling/createMessage");
  ASSERT_FALSE(e.empty());
  ASSERT_FALSE(s.empty());
  json::object retry = kCall;
  retry["requestState"] = first.at("result").at("requestState");
  retry["inputResponses"] =
      json::object{{e, json::object{{"action", "accept"}}}, {s, json::object{{"model", "m"}}}};
  auto done = h.request(c, "tools/call", as_modern(retry));
  ASSERT_TRUE(done.contains("result")) << json::serialize(done);
  auto replies = json::parse(text_of(done)).as_object();
  EXPECT_EQ(replies.at("e").at("result").at("action"), "accept");
  EXPECT_EQ(replies.at("s").at("result").at("model"), "m");
}

// Attack: a retry that answers one key, and adds a key Bastion never sent
// (another round's, another call's, made up), answers only its own request;
// the unanswered one gets an error, and the extra answer reaches nobody.
TEST(EraBridge, AnAnswerReachesOnlyTheRequestOfItsKey) {
  GatewayHarness h({fake_server("s")});
  h.fakes.script("s", two_asks());
  h.start();
  auto c = h.connect_modern();
  auto first = h.request(c, "tools/call", as_modern(kCall));
  std::string e = key_of(first, "elicitation/create");
  ASSERT_FALSE(e.empty()) << json::serialize(first);
  json::object retry = kCall;
  retry["requestState"] = first.at("result").at("requestState");
  retry["inputResponses"] = json::object{{e, json::object{{"action", "decline"}}},
                                         {"bastion-99", json::object{{"model", "forged"}}}};
  auto done = h.request(c, "tools/call", as_modern(retry));
  ASSERT_TRUE(done.contains("result")) << json::serialize(done);
  auto replies = json::parse(text_of(done)).as_object();
  EXPECT_EQ(replies.at("e").at("result").at("action"), "decline");
  EXPECT_TRUE(replies.at("s").as_object().contains("error")) << json::serialize(replies);
  EXPECT_EQ(json::serialize(replies).find("forged"), std::string::npos);
}

}  // namespace
}  // namespace bastion::gateway::testing
