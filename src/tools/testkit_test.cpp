// The testkit's Legacy fixtures that ask the client something (sampling,
// elicitation), spoken to in each era through a real engine: a Legacy request
// gets a server-to-client request, a Modern one an InputRequiredResult with
// the same request, whose retry ends as the Legacy call does.
#include "tools/testkit.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>

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

TEST(TestkitModern, SamplingIsAskedByInputRequiredAndTheRetryEndsTheCall) {
  Harness h;
  json::object call{{"name", "test_sampling"}, {"arguments", json::object{{"prompt", "2+2?"}}}};
  auto first = h.request("tools/call", modern(call, kBoth));
  const auto& r = first.at("result").as_object();
  ASSERT_EQ(r.at("resultType"), "input_required") << json::serialize(first);
  const auto& ask = r.at("inputRequests").at("sampling").as_object();
  EXPECT_EQ(ask.at("method"), "sampling/createMessage");
  EXPECT_EQ(ask.at("params").at("messages").at(0).at("content").at("text"), "2+2?");
  EXPECT_EQ(ask.at("params").at("maxTokens"), 100);
  EXPECT_TRUE(h.seen.empty());  // no server-to-client request on a Modern request

  json::object retry = call;
  retry["inputResponses"] =
      json::object{{"sampling", json::object{{"role", "assistant"},
                                             {"content", {{"type", "text"}, {"text", "four"}}}}}};
  auto done = h.request("tools/call", modern(retry, kBoth));
  EXPECT_EQ(done.at("result").at("resultType"), "complete");
  EXPECT_EQ(text_of(done), "LLM response: four");
}

TEST(TestkitModern, ElicitationFixturesAskTheirOwnSchemas) {
  for (const char* tool : {"test_elicitation", "test_elicitation_sep1034_defaults",
                           "test_elicitation_sep1330_enums"}) {
    Harness h;
    json::object call{{"name", tool}, {"arguments", json::object{{"message", "who?"}}}};
    auto first = h.request("tools/call", modern(call, kBoth));
    const auto& ask = first.at("result").at("inputRequests").at("elicitation").as_object();
    EXPECT_EQ(ask.at("method"), "elicitation/create") << tool;
    EXPECT_TRUE(ask.at("params").at("requestedSchema").at("properties").as_object().size() >= 2)
        << tool;
    json::object retry = call;
    retry["inputResponses"] =
        json::object{{"elicitation", json::object{{"action", "accept"},
                                                  {"content", json::object{{"name", "Ada"}}}}}};
    auto done = h.request("tools/call", modern(retry, kBoth));
    EXPECT_NE(text_of(done).find(R"(action=accept, content={"name":"Ada"})"), std::string::npos)
        << tool << ": " << text_of(done);
  }
  // test_elicitation's own schema, as the Legacy request carries it.
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
  h.session->initialize(json::object{{"protocolVersion", "2025-11-25"},
                                     {"capabilities", kBoth},
                                     {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  auto r = h.request("tools/call",
                     json::object{{"name", "test_sampling"}, {"arguments", {{"prompt", "p"}}}});
  ASSERT_EQ(h.seen.size(), 1u);
  EXPECT_EQ(h.seen[0].at("method"), "sampling/createMessage");
  // Unanswered within the (short) timeout: a tool error, never input_required.
  EXPECT_FALSE(r.at("result").as_object().contains("resultType"));
  EXPECT_EQ(r.at("result").at("isError"), true);
}

// One round's questions reach a Legacy client together, before any is
// answered (a gateway in front gathers them into one InputRequiredResult).
TEST(TestkitLegacy, ARoundsQuestionsGoOutTogether) {
  Harness h(std::chrono::seconds(10));
  h.session->initialize(json::object{
      {"protocolVersion", "2025-11-25"},
      {"capabilities",
       {{"sampling", json::object{}}, {"elicitation", json::object{}}, {"roots", json::object{}}}},
      {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  std::int64_t id =
      h.send("tools/call", json::object{{"name", "test_input_required_result_multiple_inputs"}});
  h.run();
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
  h.session->initialize(json::object{
      {"protocolVersion", "2025-11-25"},
      {"capabilities",
       {{"sampling", json::object{}}, {"elicitation", json::object{}}, {"roots", json::object{}}}},
      {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  std::int64_t id =
      h.send("tools/call", json::object{{"name", "test_input_required_result_multiple_inputs"}});
  h.run();
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

}  // namespace
}  // namespace bastion::tools
