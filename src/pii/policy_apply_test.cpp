// apply_policy (policy_apply.cpp): the walk over a message and what each
// action does to what it finds; reading and resolving the configuration is
// tested in policy_test.cpp.
#include <gtest/gtest.h>

#include "pii/policy.hpp"
#include "pii/test_util.hpp"

namespace bastion::pii {
namespace {

namespace json = boost::json;

using testing::opts;
using testing::scanner;

TEST(Policy, WalksEveryStringAndKey) {
  PolicyOptions o;  // default mask
  json::value v = json::parse(R"({
    "content": [{"type": "text", "text": "mail kim@example.com"},
                {"type": "image", "data": "MDEwLTEyMzQtNTY3OA==", "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "x://1", "text": "call 010-1234-5678"}}],
    "structuredContent": {"rows": [{"kim@example.com": "주민 900101-1234568"}],
                          "deep": [[["4111 1111 1111 1111"]]]},
    "messages": [{"role": "user", "content": {"type": "text", "text": "김철수님"}}],
    "password": "hunter2"
  })");
  ResolvedPolicy r(o, "s", "t", Direction::kResponse);
  PolicyOutcome out = apply_policy(v, scanner(), r, {});
  EXPECT_TRUE(out.contains_pii);
  EXPECT_EQ(out.decision, PiiAction::kMask);
  EXPECT_FALSE(out.error);
  auto& obj = v.as_object();
  EXPECT_EQ(obj["content"].as_array()[0].as_object()["text"], "mail ***@example.com");
  EXPECT_EQ(obj["content"].as_array()[2].as_object()["resource"].as_object()["text"],
            "call 010-****-5678");
  auto& row = obj["structuredContent"].as_object()["rows"].as_array()[0].as_object();
  ASSERT_TRUE(row.contains("***@example.com")) << json::serialize(row);  // keys too
  EXPECT_EQ(row["***@example.com"], "주민 900101-1******");
  EXPECT_EQ(obj["structuredContent"].as_object()["deep"].as_array()[0].as_array()[0].as_array()[0],
            "**** **** **** 1111");
  EXPECT_EQ(obj["messages"].as_array()[0].as_object()["content"].as_object()["text"], "김**님");
  EXPECT_EQ(obj["password"], "[REDACTED:secret]");
  EXPECT_EQ(out.counts.at("email"), 2);
  EXPECT_EQ(out.counts.at("phone"), 1);
  EXPECT_EQ(out.counts.at("rrn"), 1);
  EXPECT_EQ(out.counts.at("credit_card"), 1);
  EXPECT_EQ(out.counts.at("korean_name"), 1);
  EXPECT_EQ(out.counts.at("secret"), 1);
}

TEST(Policy, RejectNamesTypesNotValues) {
  PolicyOptions o = opts(R"({"default": "mask", "types": {"rrn": "reject"}})");
  json::value v = json::parse(R"({"a": "900101-1234568", "b": ["kim@example.com"]})");
  PolicyOutcome out =
      apply_policy(v, scanner(), ResolvedPolicy(o, "s", "t", Direction::kRequest), {});
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, protocol::kPolicyRejected);
  EXPECT_NE(out.error->message.find("rrn"), std::string::npos);
  EXPECT_NE(out.error->message.find("email"), std::string::npos);
  std::string all = out.error->message + json::serialize(out.error->data);
  EXPECT_EQ(all.find("900101"), std::string::npos);
  EXPECT_EQ(all.find("kim@"), std::string::npos);
  EXPECT_EQ(out.decision, PiiAction::kReject);
}

TEST(Policy, EncryptUsesInjectedEncryptor) {
  PolicyOptions o = opts(R"({"default": "encrypt", "types": {"email": "allow"}})");
  json::value v = json::parse(R"({"q": "call 010-1234-5678, mail kim@example.com"})");
  Encryptor enc = [](std::string_view s) { return "enc(" + std::to_string(s.size()) + ")"; };
  PolicyOutcome out =
      apply_policy(v, scanner(), ResolvedPolicy(o, "s", "t", Direction::kRequest), enc);
  EXPECT_FALSE(out.error);
  EXPECT_EQ(v.as_object()["q"], "call enc(13), mail kim@example.com");
  EXPECT_EQ(out.decision, PiiAction::kEncrypt);
  Encryptor boom = [](std::string_view) -> std::string { throw std::runtime_error("no key"); };
  json::value w = json::parse(R"({"q": "010-1234-5678"})");
  out = apply_policy(w, scanner(), ResolvedPolicy(o, "s", "t", Direction::kRequest), boom);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, protocol::kInternalError);
}

// Keys, numbers and payload-named members: each attack must be caught by
// `reject` and rewritten by `mask`.
struct WalkCase {
  const char* name;
  const char* json;
  const char* type;    // the one type found
  const char* masked;  // the value after `mask`, serialized
};

const WalkCase kWalk[] = {
    {"rrn as a key", R"({"900101-1234568": "x"})", "rrn", R"({"900101-1******":"x"})"},
    {"email as a nested key", R"({"a": [{"kim@example.com": 1}]})", "email",
     R"({"a":[{"***@example.com":1}]})"},
    {"full-width phone as a key", R"({"０１０－１２３４－５６７８": true})", "phone",
     R"({"010-****-5678":true})"},
    {"rrn as a number", R"({"id": 9001011234568})", "rrn", R"({"id":"9001011******"})"},
    {"card as a number", R"({"n": [4111111111111111]})", "credit_card",
     R"({"n":["************1111"]})"},
    {"mobile as a number", R"({"tel": 1012345678})", "phone", R"({"tel":"010****5678"})"},
    {"negative card", R"({"n": -4111111111111111})", "credit_card", R"({"n":"************1111"})"},
    {"card as a float", R"({"n": 4.111111111111111e15})", "credit_card",
     R"({"n":"************1111"})"},
    {"secret-named number", R"({"password": 12345678})", "secret",
     R"({"password":"[REDACTED:secret]"})"},
    {"secret-named key over an email", R"({"Api_Key": "kim@example.com"})", "secret",
     R"({"Api_Key":"[REDACTED:secret]"})"},
    {"text under blob", R"({"uri": "x://1", "blob": "call 010-1234-5678"})", "phone",
     R"({"uri":"x://1","blob":"call 010-****-5678"})"},
    {"digits under blob", R"({"uri": "x://1", "blob": "4111111111111111"})", "credit_card",
     R"({"uri":"x://1","blob":"************1111"})"},
    {"text under image data", R"({"type": "image", "data": "kim@example.com"})", "email",
     R"({"type":"image","data":"***@example.com"})"},
    {"blob outside a resource", R"({"blob": "900101-1234568"})", "rrn",
     R"({"blob":"900101-1******"})"},
    {"_meta", R"({"_meta": {"note": "kim@example.com"}})", "email",
     R"({"_meta":{"note":"***@example.com"}})"},
};

TEST(Policy, KeysNumbersAndPayloadsAreScanned) {
  PolicyOptions reject = opts(R"({"default": "reject"})");
  PolicyOptions mask = opts(R"({"default": "mask"})");
  for (const auto& c : kWalk) {
    json::value v = json::parse(c.json);
    auto out =
        apply_policy(v, scanner(), ResolvedPolicy(reject, "s", "t", Direction::kRequest), {});
    ASSERT_TRUE(out.error) << c.name;
    EXPECT_EQ(out.error->code, protocol::kPolicyRejected) << c.name;
    ASSERT_EQ(out.counts.size(), 1u) << c.name;
    EXPECT_EQ(out.counts.begin()->first, c.type) << c.name;
    json::value w = json::parse(c.json);
    out = apply_policy(w, scanner(), ResolvedPolicy(mask, "s", "t", Direction::kRequest), {});
    EXPECT_FALSE(out.error) << c.name;
    EXPECT_EQ(json::serialize(w), c.masked) << c.name;
  }
}

TEST(Policy, MaskedKeysThatCollideStayDistinct) {
  PolicyOptions mask = opts(R"({"default": "mask"})");
  json::value v = json::parse(R"({"900101-1234568": 1, "900101-1234576": 2, "900101-1******": 3})");
  auto out = apply_policy(v, scanner(), ResolvedPolicy(mask, "s", "t", Direction::kRequest), {});
  EXPECT_FALSE(out.error);
  EXPECT_EQ(json::serialize(v),
            R"({"900101-1******":1,"900101-1******#2":2,"900101-1******#3":3})");
}

TEST(Policy, EncryptedKeysAndNumbersBecomeTokens) {
  PolicyOptions o = opts(R"({"default": "encrypt"})");
  Encryptor enc = [](std::string_view s) { return "enc(" + std::string(s) + ")"; };
  json::value v = json::parse(R"({"kim@example.com": 9001011234568})");
  auto out = apply_policy(v, scanner(), ResolvedPolicy(o, "s", "t", Direction::kRequest), enc);
  EXPECT_FALSE(out.error);
  EXPECT_EQ(json::serialize(v), R"j({"enc(kim@example.com)":"enc(9001011234568)"})j");
}

TEST(Policy, ExemptionsAndPayloads) {
  PolicyOptions o = opts(R"({"default": "reject"})");
  Exempt ex{{"name"}, true};
  // The routed name and the progress tokens Bastion replaces are not data.
  json::value v = json::parse(
      R"({"name": "kim@example.com", "_meta": {"progressToken": 9001011234568},
          "progressToken": 4111111111111111})");
  auto out = apply_policy(v, scanner(), ResolvedPolicy(o, "s", "t", Direction::kRequest), {}, ex);
  EXPECT_FALSE(out.error);
  EXPECT_FALSE(out.contains_pii);
  // Everything else in _meta is.
  json::value w = json::parse(R"({"_meta": {"progressToken": 1, "trace": "kim@example.com"}})");
  out = apply_policy(w, scanner(), ResolvedPolicy(o, "s", "t", Direction::kRequest), {}, ex);
  EXPECT_TRUE(out.error);
  // A real base64 image is skipped; small numbers cost nothing.
  json::value img = json::parse(
      R"({"type": "image", "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "n": 42})");
  out = apply_policy(img, scanner(), ResolvedPolicy(o, "s", "t", Direction::kRequest), {});
  EXPECT_FALSE(out.contains_pii);
  // Whichever member comes first; the same bytes are scanned anywhere else.
  for (const char* j : {R"({"data": "AKIAIOSFODNN7EXAMPLE", "type": "audio"})",
                        R"({"type": "image", "data": "AKIAIOSFODNN7EXAMPLE"})",
                        R"({"blob": "AKIAIOSFODNN7EXAMPLE", "uri": "x://1"})"}) {
    json::value p = json::parse(j);
    out = apply_policy(p, scanner(), ResolvedPolicy(o, "s", "t", Direction::kRequest), {});
    EXPECT_FALSE(out.contains_pii) << j;
  }
  for (const char* j : {R"({"data": "AKIAIOSFODNN7EXAMPLE", "type": "text"})",
                        R"({"data": "AKIAIOSFODNN7EXAMPLE", "type": 1, "uri": "x://1"})",
                        R"({"blob": "AKIAIOSFODNN7EXAMPLE", "url": "x://1"})"}) {
    json::value p = json::parse(j);
    out = apply_policy(p, scanner(), ResolvedPolicy(o, "s", "t", Direction::kRequest), {});
    EXPECT_TRUE(out.contains_pii) << j;
  }
}

TEST(Policy, CleanInputUntouched) {
  PolicyOptions o;
  json::value v = json::parse(R"({"q": "nothing to see here, 2024년 3월", "n": 5})");
  json::value before = v;
  PolicyOutcome out =
      apply_policy(v, scanner(), ResolvedPolicy(o, "s", "t", Direction::kRequest), {});
  EXPECT_FALSE(out.contains_pii);
  EXPECT_TRUE(out.counts.empty());
  EXPECT_EQ(v, before);
}

}  // namespace
}  // namespace bastion::pii
