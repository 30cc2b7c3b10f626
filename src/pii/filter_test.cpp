#include "pii/filter.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace bastion::pii {
namespace {

namespace json = boost::json;

server::CallContext ctx(std::string_view method = "tools/call", std::string_view target = "t") {
  return server::CallContext{protocol::Principal::anonymous(), "sess", "1", method, "srv", target};
}

TEST(PiiFilter, MasksRequestArgumentsAndRecordsNotes) {
  auto f =
      make_pii_filter(policy_options_from_json(json::parse(R"({"default": "mask"})").as_object()));
  json::object params =
      json::parse(
          R"({"name": "t", "arguments": {"who": "kim@example.com", "n": {"x": ["010-1234-5678"]}}})")
          .as_object();
  auto c = ctx();
  EXPECT_TRUE(f->on_request(params, c).ok());
  EXPECT_EQ(params["arguments"].as_object()["who"], "***@example.com");
  EXPECT_EQ(params["name"], "t");
  EXPECT_EQ(c.notes.pii_action, server::DataAction::kMask);
  EXPECT_TRUE(c.notes.contains_pii);
  EXPECT_EQ(c.notes.pii.at("email"), 1);
  EXPECT_EQ(c.notes.pii.at("phone"), 1);
  // Only types and counts: the notes have no room for a value.
  EXPECT_EQ(c.notes.pii.size(), 2u);
}

TEST(PiiFilter, RejectsResponseByTypeAndNeverEchoesValues) {
  auto f = make_pii_filter(policy_options_from_json(
      json::parse(
          R"({"default": "mask", "directions": {"response": {"types": {"rrn": "reject"}}}})")
          .as_object()));
  json::object result =
      json::parse(R"({"content": [{"type": "text", "text": "주민번호 900101-1234568"}]})")
          .as_object();
  auto c = ctx();
  auto v = f->on_response(result, c);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error->code, protocol::kPolicyRejected);
  EXPECT_NE(v.error->message.find("rrn"), std::string::npos);
  EXPECT_EQ(v.error->message.find("900101"), std::string::npos);
  EXPECT_EQ(c.notes.pii_action, server::DataAction::kReject);
  // The same in a request is only masked.
  json::object params = json::parse(R"({"arguments": {"q": "900101-1234568"}})").as_object();
  auto c2 = ctx();
  EXPECT_TRUE(f->on_request(params, c2).ok());
  EXPECT_EQ(params["arguments"].as_object()["q"], "900101-1******");
}

TEST(PiiFilter, NoPiiNoNotes) {
  auto f = make_pii_filter(PolicyOptions{});
  json::object result =
      json::parse(R"({"content": [{"type": "text", "text": "all clear"}]})").as_object();
  auto c = ctx();
  EXPECT_TRUE(f->on_response(result, c).ok());
  EXPECT_FALSE(c.notes.contains_pii);
  EXPECT_TRUE(c.notes.pii.empty());
  EXPECT_EQ(result["content"].as_array()[0].as_object()["text"], "all clear");
}

// Every part of a request the client controls is scanned, except the
// routed name and the progress token Bastion replaces.
TEST(PiiFilter, WholeRequestsAreScanned) {
  auto f = make_pii_filter(
      policy_options_from_json(json::parse(R"({"default": "reject"})").as_object()));
  struct Case {
    const char* method;
    const char* params;
    bool rejected;
  };
  const Case cases[] = {
      {"resources/read", R"({"uri": "mail://kim@example.com"})", true},
      {"tools/call", R"({"name": "t", "arguments": {"900101-1234568": "key"}})", true},
      {"tools/call", R"({"name": "t", "arguments": {"n": 9001011234568}})", true},
      {"tools/call", R"({"name": "t", "arguments": {}, "_meta": {"who": "kim@example.com"}})",
       true},
      {"tools/call", R"({"name": "t", "kim@example.com": 1})", true},
      {"prompts/get", R"({"name": "p", "arguments": {"a": "０１０－１２３４－５６７８"}})", true},
      {"tools/call", R"({"name": "kim@example.com", "arguments": {}})", false},
      {"tools/call", R"({"name": "t", "_meta": {"progressToken": 9001011234568}})", false},
      {"prompts/get", R"({"name": "kim@example.com"})", false},
      // Only those two methods route by `name`.
      {"resources/read", R"({"uri": "x://1", "name": "kim@example.com"})", true},
      {"tools/call", R"({"name": "kim@example.com"})", false},
      {"completion/complete", R"({"name": "kim@example.com"})", true},
  };
  for (const auto& c : cases) {
    json::object params = json::parse(c.params).as_object();
    auto cc = ctx(c.method);
    EXPECT_EQ(!f->on_request(params, cc).ok(), c.rejected) << c.method << " " << c.params;
  }
}

TEST(PiiFilter, ErrorsAreScanned) {
  auto mask = make_pii_filter(PolicyOptions{});
  protocol::RpcError e{-32000, "no customer kim@example.com",
                       json::parse(R"({"rrn": "900101-1234568", "900101-1234576": 1})")};
  auto c = ctx();
  mask->on_error(e, c);
  EXPECT_EQ(e.code, -32000);
  EXPECT_EQ(e.message, "no customer ***@example.com");
  EXPECT_EQ(json::serialize(e.data), R"({"rrn":"900101-1******","900101-1******":1})");
  EXPECT_EQ(c.notes.pii.at("rrn"), 2);
  auto reject = make_pii_filter(
      policy_options_from_json(json::parse(R"({"types": {"rrn": "reject"}})").as_object()));
  protocol::RpcError e2{-32000, "bad rrn 900101-1234568",
                        json::parse(R"({"x": "kim@example.com"})")};
  auto c2 = ctx();
  reject->on_error(e2, c2);
  EXPECT_EQ(e2.code, protocol::kPolicyRejected);
  std::string all = e2.message + json::serialize(e2.data);
  EXPECT_NE(all.find("rrn"), std::string::npos);
  EXPECT_EQ(all.find("900101"), std::string::npos);
  EXPECT_EQ(all.find("kim@"), std::string::npos);
}

// Notifications and server-to-client requests (toward the client) and the
// client's answers (toward the server), with what the report receives.
TEST(PiiFilter, RelayedMessagesAndAnswers) {
  std::vector<json::object> events;
  auto f = make_pii_filter(
      policy_options_from_json(json::parse(R"({"default": "mask", "types": {"rrn": "reject"},
          "servers": {"crm": {"directions": {"request": "reject"}}}})")
                                   .as_object()),
      {}, [&](json::object e) { events.push_back(std::move(e)); });
  const server::MessageContext to_client{"sess", "notifications/message", "crm", "lookup"};
  json::object log = json::parse(R"({"jsonrpc": "2.0", "method": "notifications/message",
      "params": {"level": "info", "data": {"kim@example.com": "010\u200b-1234-5678"}}})")
                         .as_object();
  EXPECT_TRUE(f->on_outbound(log, to_client).ok());
  EXPECT_EQ(json::serialize(log["params"]),
            R"({"level":"info","data":{"***@example.com":"010-****-5678"}})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event_type"], "pii_relayed");
  EXPECT_EQ(events[0]["direction"], "to_client");
  EXPECT_EQ(events[0]["server"], "crm");
  EXPECT_EQ(events[0]["pii"].as_object()["email"], 1);
  EXPECT_EQ(json::serialize(events[0]).find("kim@"), std::string::npos);
  // Progress: the token stays (Bastion swapped it), the message is scanned.
  json::object progress = json::parse(R"({"method": "notifications/progress",
      "params": {"progressToken": 9001011234568, "progress": 1, "message": "row 900101-1234568"}})")
                              .as_object();
  auto v = f->on_outbound(progress, {"sess", "notifications/progress", "crm", "lookup"});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error->message.find("900101"), std::string::npos);
  // A sampling request with an RRN is refused; its asker gets the error.
  json::object sampling =
      json::parse(R"({"jsonrpc": "2.0", "id": 7, "method": "sampling/createMessage",
      "params": {"messages": [{"role": "user", "content": {"type": "text", "text": "rrn 900101-1234568"}}],
                 "maxTokens": 5}})")
          .as_object();
  v = f->on_outbound(sampling, {"sess", "sampling/createMessage", "crm", "lookup"});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error->code, protocol::kPolicyRejected);
  EXPECT_NE(v.error->message.find("sampling/createMessage"), std::string::npos);
  // The client's answers flow toward the server: crm's request direction rejects.
  const server::MessageContext answer_ctx{"sess", "elicitation/create", "crm", "lookup"};
  json::object answer = json::parse(R"({"jsonrpc": "2.0", "id": 8,
      "result": {"action": "accept", "content": {"phone": "010-1234-5678"}}})")
                            .as_object();
  v = f->on_client_answer(answer, answer_ctx);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error->message.find("the answer to elicitation/create"), std::string::npos);
  EXPECT_EQ(events.back()["direction"], "to_server");
  // Elsewhere the same answer is masked; errors from the client too.
  json::object answer2 = answer;
  EXPECT_TRUE(f->on_client_answer(answer2, {"sess", "elicitation/create", "other", "x"}).ok());
  EXPECT_EQ(json::serialize(answer2["result"]),
            R"({"action":"accept","content":{"phone":"010-****-5678"}})");
  json::object failed = json::parse(R"({"jsonrpc": "2.0", "id": 9,
      "error": {"code": -1, "message": "user kim@example.com declined"}})")
                            .as_object();
  EXPECT_TRUE(f->on_client_answer(failed, {"sess", "sampling/createMessage", "other", "x"}).ok());
  EXPECT_EQ(failed["error"].as_object()["message"], "user ***@example.com declined");
  // Nothing found: nothing reported, message untouched.
  const std::size_t n = events.size();
  json::object clean =
      json::parse(R"({"method": "notifications/message", "params": {"data": "ok"}})").as_object();
  auto before = clean;
  EXPECT_TRUE(f->on_outbound(clean, to_client).ok());
  EXPECT_EQ(clean, before);
  EXPECT_EQ(events.size(), n);
}

TEST(PiiFilter, EncryptNeedsAnEncryptor) {
  auto o = policy_options_from_json(
      json::parse(R"({"tools": {"x": {"types": {"email": "encrypt"}}}})").as_object());
  EXPECT_THROW(make_pii_filter(o), std::invalid_argument);
  auto f = make_pii_filter(o, [](std::string_view) { return std::string("gAAAA-token"); });
  json::object params = json::parse(R"({"arguments": {"a": "kim@example.com"}})").as_object();
  auto c = ctx("tools/call", "x");
  EXPECT_TRUE(f->on_request(params, c).ok());
  EXPECT_EQ(params["arguments"].as_object()["a"], "gAAAA-token");
  EXPECT_EQ(c.notes.pii_action, server::DataAction::kEncrypt);
}

TEST(PiiFilter, ChainIntegration) {
  server::FilterChain chain;
  chain.add(make_pii_filter(PolicyOptions{}));
  json::object result =
      json::parse(R"({"content": [{"type": "text", "text": "card 4111-1111-1111-1111"}]})")
          .as_object();
  auto c = ctx();
  EXPECT_TRUE(chain.run_response(result, c).ok());
  EXPECT_EQ(result["content"].as_array()[0].as_object()["text"], "card ****-****-****-1111");
}

}  // namespace
}  // namespace bastion::pii
