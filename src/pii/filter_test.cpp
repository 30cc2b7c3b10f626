#include "pii/filter.hpp"

#include <gtest/gtest.h>

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

TEST(PiiFilter, OnlyToolsAndPromptsRequestsAreScanned) {
  auto f = make_pii_filter(
      policy_options_from_json(json::parse(R"({"default": "reject"})").as_object()));
  json::object params = json::parse(R"({"uri": "mail://kim@example.com"})").as_object();
  auto c = ctx("resources/read");
  EXPECT_TRUE(f->on_request(params, c).ok());
  json::object pp =
      json::parse(R"({"name": "p", "arguments": {"a": "kim@example.com"}})").as_object();
  auto c2 = ctx("prompts/get", "p");
  EXPECT_FALSE(f->on_request(pp, c2).ok());
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
