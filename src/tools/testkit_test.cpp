// The testkit's Legacy fixtures that ask the client something (sampling,
// elicitation), spoken to in each era through a real engine: a Legacy request
// gets a server-to-client request, a Modern one an InputRequiredResult with
// the same request, whose retry ends as the Legacy call does.
#include "tools/testkit.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <set>

#include "server/engine.hpp"
#include "server/session.hpp"

namespace bastion::tools {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

struct Harness {
  asio::io_context ioc;
  server::Engine engine;
  std::shared_ptr<server::Session> session;
  std::shared_ptr<server::Outbox> out;
  std::vector<json::object> seen;  // everything but the responses

  explicit Harness(std::chrono::milliseconds client_timeout = std::chrono::milliseconds(100))
      : engine(options(client_timeout)) {
    engine.add_backend(make_testkit());
    session = engine.create_session(protocol::Principal::anonymous());
    out = std::make_shared<server::Outbox>(ioc.get_executor());
  }
  static server::EngineOptions options(std::chrono::milliseconds client_timeout) {
    server::EngineOptions o;
    o.client_request_timeout = client_timeout;
    return o;
  }
  std::map<std::int64_t, json::object> responses;

  std::int64_t send(const std::string& method, json::object params) {
    static std::int64_t id = 100;
    session->deliver(protocol::make_request(++id, method, std::move(params)), out,
                     ioc.get_executor());
    return id;
  }
  void answer(const json::object& request, json::object result) {
    session->deliver(protocol::make_result(request.at("id"), std::move(result)), out,
                     ioc.get_executor());
  }
  void run() {
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(300));
    while (auto m = out->try_pop()) {
      if (!m->message) continue;
      if (m->ends_request)
        responses[m->message->at("id").to_number<std::int64_t>()] = *m->message;
      else
        seen.push_back(*m->message);
    }
  }
  json::object request(const std::string& method, json::object params) {
    std::int64_t id = send(method, std::move(params));
    run();
    return responses[id];
  }
  void initialize_legacy(json::object capabilities) {
    session->initialize(json::object{{"protocolVersion", "2025-11-25"},
                                     {"capabilities", std::move(capabilities)},
                                     {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  }
};

json::object modern(json::object params, json::object caps) {
  params["_meta"] = json::object{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                                 {"io.modelcontextprotocol/clientCapabilities", std::move(caps)}};
  return params;
}

const json::object kBoth{{"sampling", json::object{}}, {"elicitation", json::object{}}};

std::string text_of(const json::object& response) {
  return std::string(response.at("result").at("content").at(0).at("text").as_string());
}

// One fixture that asks its client one thing, spoken to as Modern: the
// first round is an InputRequiredResult carrying the request under `key`
// (and no server-to-client request), the retry with the answer ends the call
// as the Legacy call would.
struct AskCase {
  const char* tool;
  json::object arguments;
  const char* key;
  const char* method;
  json::object answer;
  const char* result_text;  // found in the final result's text
};

void PrintTo(const AskCase& c, std::ostream* os) { *os << c.tool; }

class TestkitModernAsk : public testing::TestWithParam<AskCase> {};

TEST_P(TestkitModernAsk, TheFirstRoundAsksAndTheRetryEndsTheCall) {
  const AskCase& c = GetParam();
  Harness h;
  json::object call{{"name", c.tool}, {"arguments", c.arguments}};
  auto first = h.request("tools/call", modern(call, kBoth));
  const auto& r = first.at("result").as_object();
  ASSERT_EQ(r.at("resultType"), "input_required") << json::serialize(first);
  ASSERT_EQ(r.at("inputRequests").as_object().size(), 1u) << json::serialize(first);
  EXPECT_EQ(r.at("inputRequests").at(c.key).at("method"), c.method);
  EXPECT_TRUE(h.seen.empty());  // no server-to-client request on a Modern request

  json::object retry = call;
  retry["inputResponses"] = json::object{{c.key, c.answer}};
  auto done = h.request("tools/call", modern(retry, kBoth));
  EXPECT_EQ(done.at("result").at("resultType"), "complete") << json::serialize(done);
  EXPECT_NE(text_of(done).find(c.result_text), std::string::npos) << text_of(done);
}

const json::object kAccepted{{"action", "accept"}, {"content", json::object{{"name", "Ada"}}}};
constexpr const char* kAcceptedText = R"(action=accept, content={"name":"Ada"})";

INSTANTIATE_TEST_SUITE_P(
    Fixtures, TestkitModernAsk,
    testing::Values(AskCase{"test_sampling",
                            {{"prompt", "2+2?"}},
                            "sampling",
                            "sampling/createMessage",
                            {{"role", "assistant"},
                             {"content", {{"type", "text"}, {"text", "four"}}}},
                            "LLM response: four"},
                    AskCase{"test_elicitation",
                            {{"message", "who?"}},
                            "elicitation",
                            "elicitation/create",
                            kAccepted,
                            kAcceptedText},
                    AskCase{"test_elicitation_sep1034_defaults",
                            {{"message", "who?"}},
                            "elicitation",
                            "elicitation/create",
                            kAccepted,
                            kAcceptedText},
                    AskCase{"test_elicitation_sep1330_enums",
                            {{"message", "who?"}},
                            "elicitation",
                            "elicitation/create",
                            kAccepted,
                            kAcceptedText}),
    [](const testing::TestParamInfo<AskCase>& i) { return std::string(i.param.tool); });

// What each fixture asks is its own, as the Legacy request carries it.
TEST(TestkitModern, SamplingAsksForThePrompt) {
  Harness h;
  auto first =
      h.request("tools/call",
                modern({{"name", "test_sampling"}, {"arguments", {{"prompt", "2+2?"}}}}, kBoth));
  const auto& p = first.at("result").at("inputRequests").at("sampling").at("params");
  EXPECT_EQ(p.at("messages").at(0).at("content").at("text"), "2+2?");
  EXPECT_EQ(p.at("maxTokens"), 100);
}

TEST(TestkitModern, ElicitationFixturesAskTheirOwnSchemas) {
  std::set<std::string> schemas;
  for (const char* tool : {"test_elicitation", "test_elicitation_sep1034_defaults",
                           "test_elicitation_sep1330_enums"}) {
    Harness h;
    auto first = h.request("tools/call",
                           modern({{"name", tool}, {"arguments", {{"message", "who?"}}}}, kBoth));
    const auto& s =
        first.at("result").at("inputRequests").at("elicitation").at("params").at("requestedSchema");
    EXPECT_GE(s.at("properties").as_object().size(), 2u) << tool;
    schemas.insert(json::serialize(s));
  }
  EXPECT_EQ(schemas.size(), 3u) << "each fixture asks with a schema of its own";
  Harness h;
  auto first = h.request(
      "tools/call",
      modern({{"name", "test_elicitation"}, {"arguments", {{"message", "who?"}}}}, kBoth));
  const auto& p = first.at("result").at("inputRequests").at("elicitation").at("params");
  EXPECT_EQ(p.at("message"), "who?");
  EXPECT_EQ(p.at("requestedSchema").at("required"), (json::array{"username", "email"}));
}

TEST(TestkitModern, AnAnswerUnderAnotherKeyIsNoAnswer) {
  // A retry that answers some other question (or an unasked one) does not
  // end the call: the fixture asks again.
  Harness h;
  json::object call{
      {"name", "test_sampling"},
      {"arguments", json::object{{"prompt", "p"}}},
      {"inputResponses", json::object{{"elicitation", json::object{{"action", "accept"}}}}}};
  auto r = h.request("tools/call", modern(call, kBoth));
  EXPECT_EQ(r.at("result").at("resultType"), "input_required") << json::serialize(r);
}

TEST(TestkitModern, AClientWithoutTheCapabilityIsNotAsked) {
  Harness h;
  auto r =
      h.request("tools/call", modern({{"name", "test_sampling"}, {"arguments", {{"prompt", "p"}}}},
                                     json::object{{"elicitation", json::object{}}}));
  ASSERT_TRUE(r.contains("error")) << json::serialize(r);
  EXPECT_EQ(r.at("error").at("code"), protocol::kMissingRequiredClientCapability);
}

TEST(TestkitLegacy, TheSameFixtureSendsARequestToALegacyClient) {
  Harness h;
  h.initialize_legacy(kBoth);
  auto r = h.request("tools/call",
                     json::object{{"name", "test_sampling"}, {"arguments", {{"prompt", "p"}}}});
  ASSERT_EQ(h.seen.size(), 1u);
  EXPECT_EQ(h.seen[0].at("method"), "sampling/createMessage");
  // Unanswered within the (short) timeout: a tool error, never input_required.
  EXPECT_FALSE(r.at("result").as_object().contains("resultType"));
  EXPECT_EQ(r.at("result").at("isError"), true);
}

// A Legacy client able to answer all three questions of
// test_input_required_result_multiple_inputs, sent it; the call's id.
std::int64_t start_multiple_inputs(Harness& h) {
  h.initialize_legacy(json::object{
      {"sampling", json::object{}}, {"elicitation", json::object{}}, {"roots", json::object{}}});
  std::int64_t id =
      h.send("tools/call", json::object{{"name", "test_input_required_result_multiple_inputs"}});
  h.run();
  return id;
}

// One round's questions reach a Legacy client together, before any is
// answered (a gateway in front gathers them into one InputRequiredResult).
TEST(TestkitLegacy, ARoundsQuestionsGoOutTogether) {
  Harness h(std::chrono::seconds(10));
  std::int64_t id = start_multiple_inputs(h);
  ASSERT_EQ(h.seen.size(), 3u);
  EXPECT_FALSE(h.responses.contains(id));
  for (const auto& q : h.seen) {
    std::string_view m = q.at("method").as_string();
    if (m == "elicitation/create")
      h.answer(q, json::object{{"action", "accept"}, {"content", {{"name", "Alice"}}}});
    else if (m == "sampling/createMessage")
      h.answer(
          q, json::object{{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "hi"}}}});
    else
      h.answer(q, json::object{{"roots", json::array{}}});
  }
  h.run();
  ASSERT_TRUE(h.responses.contains(id));
  EXPECT_EQ(text_of(h.responses[id]), "multi-ok: Alice") << json::serialize(h.responses[id]);
}

// A refused question ends the round with the refusal; the others are
// withdrawn (notifications/cancelled), never left pending at the client.
TEST(TestkitLegacy, AnErrorEndsTheRoundAndWithdrawsTheRest) {
  Harness h(std::chrono::seconds(10));
  std::int64_t id = start_multiple_inputs(h);
  ASSERT_EQ(h.seen.size(), 3u);
  h.session->deliver(
      protocol::make_error(h.seen[0].at("id"), protocol::RpcError{-1, "user declined"}), h.out,
      h.ioc.get_executor());
  h.run();
  ASSERT_TRUE(h.responses.contains(id));
  EXPECT_EQ(h.responses[id].at("error").at("message"), "user declined");
  std::size_t withdrawn = 0;
  for (const auto& m : h.seen)
    if (m.at("method") == "notifications/cancelled") ++withdrawn;
  EXPECT_EQ(withdrawn, 2u);
}

// The testkit's tools that answer at once keep no copy of a Legacy call's
// params for a retry; those that may ask (and the asking prompt) do, and a
// resource (its handler never sees the answers) never asks.
TEST(Testkit, OnlyItsAskingFixturesKeepALegacyCallsParams) {
  auto b = make_testkit();
  for (const char* t : {"echo", "sleep", "test_simple_text", "test_tool_with_progress"})
    EXPECT_FALSE(b->may_ask(server::Kind::kTool, t)) << t;
  for (const char* t :
       {"test_sampling", "test_elicitation", "test_input_required_result_multi_round",
        "test_input_required_result_multiple_inputs", "confirm_delete"})
    EXPECT_TRUE(b->may_ask(server::Kind::kTool, t)) << t;
  EXPECT_TRUE(b->may_ask(server::Kind::kPrompt, "test_input_required_result_prompt"));
  EXPECT_FALSE(b->may_ask(server::Kind::kResource, "test://static-text"));
}

}  // namespace
}  // namespace bastion::tools
