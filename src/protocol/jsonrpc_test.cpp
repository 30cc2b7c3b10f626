#include "protocol/jsonrpc.hpp"

#include <gtest/gtest.h>

#include "protocol/version.hpp"

namespace bastion::protocol {
namespace {

struct ClassifyCase {
  const char* name;  // the test's name: stable, readable in ctest output
  const char* text;
  int expected_error;  // 0: valid
  MessageKind kind;
};

void PrintTo(const ClassifyCase& c, std::ostream* os) { *os << c.name; }

class ClassifyTest : public ::testing::TestWithParam<ClassifyCase> {};

TEST_P(ClassifyTest, Classifies) {
  const auto& c = GetParam();
  auto parsed = parse_json(c.text);
  ASSERT_TRUE(parsed) << c.text;
  auto r = classify(std::move(parsed.value()));
  if (c.expected_error == 0) {
    ASSERT_TRUE(r) << c.text;
    EXPECT_EQ(r.value().kind, c.kind) << c.text;
  } else {
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().error.code, c.expected_error) << c.text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Messages, ClassifyTest,
    ::testing::Values(
        ClassifyCase{"Request", R"({"jsonrpc":"2.0","id":1,"method":"ping"})", 0,
                     MessageKind::kRequest},
        ClassifyCase{"RequestWithStringId",
                     R"({"jsonrpc":"2.0","id":"a","method":"x","params":{}})", 0,
                     MessageKind::kRequest},
        ClassifyCase{"Notification", R"({"jsonrpc":"2.0","method":"notifications/initialized"})", 0,
                     MessageKind::kNotification},
        ClassifyCase{"Response", R"({"jsonrpc":"2.0","id":1,"result":{}})", 0,
                     MessageKind::kResponse},
        ClassifyCase{"Error", R"({"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}})", 0,
                     MessageKind::kError},
        ClassifyCase{"Array", R"([1])", kInvalidRequest, MessageKind::kRequest},
        ClassifyCase{"NoVersion", R"({"id":1,"method":"ping"})", kInvalidRequest,
                     MessageKind::kRequest},
        ClassifyCase{"WrongVersion", R"({"jsonrpc":"1.0","id":1,"method":"ping"})", kInvalidRequest,
                     MessageKind::kRequest},
        ClassifyCase{"NullId", R"({"jsonrpc":"2.0","id":null,"method":"ping"})", kInvalidRequest,
                     MessageKind::kRequest},
        ClassifyCase{"FractionalId", R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})",
                     kInvalidRequest, MessageKind::kRequest},
        ClassifyCase{"NonStringMethod", R"({"jsonrpc":"2.0","id":1,"method":7})", kInvalidRequest,
                     MessageKind::kRequest},
        ClassifyCase{"ArrayParams", R"({"jsonrpc":"2.0","id":1,"method":"x","params":[1]})",
                     kInvalidParams, MessageKind::kRequest},
        ClassifyCase{"NeitherMethodNorResult", R"({"jsonrpc":"2.0","id":1})", kInvalidRequest,
                     MessageKind::kRequest},
        ClassifyCase{"ResultAndError", R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})",
                     kInvalidRequest, MessageKind::kRequest}),
    [](const ::testing::TestParamInfo<ClassifyCase>& info) { return info.param.name; });

TEST(ParseJson, RejectsTruncatedAndDeepInput) {
  EXPECT_FALSE(parse_json(R"({"jsonrpc":"2.0","id":1,"meth)"));
  EXPECT_EQ(parse_json("\xff\xfe garbage").error().code, kParseError);
  std::string deep(1000, '[');
  EXPECT_FALSE(parse_json(deep));
}

// Duplicate keys at any depth are a parse error: two readers of one message
// must never see different values. Escapes are compared after decoding.
struct DuplicateCase {
  const char* name;
  const char* text;
  bool refused;
};
class DuplicateKeyTest : public ::testing::TestWithParam<DuplicateCase> {};

TEST_P(DuplicateKeyTest, Decides) {
  const auto& c = GetParam();
  auto parsed = parse_json(c.text);
  if (!c.refused) {
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(json::serialize(parsed.value()), json::serialize(json::parse(c.text)));
    return;
  }
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, kParseError);
  EXPECT_NE(parsed.error().message.find("duplicate key"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    ParseJson, DuplicateKeyTest,
    ::testing::Values(
        DuplicateCase{"TopLevel", R"({"jsonrpc":"2.0","id":1,"id":2,"method":"ping"})", true},
        DuplicateCase{"Nested",
                      R"({"jsonrpc":"2.0","id":1,"method":"tools/call",)"
                      R"("params":{"name":"echo","arguments":{"text":"a","text":"b"}}})",
                      true},
        DuplicateCase{"InsideArray", R"([{"a":1},{"b":1,"b":1}])", true},
        DuplicateCase{"EscapedSpelling", R"({"name":"x","name":"y"})", true},
        DuplicateCase{"SameValueStillRefused", R"({"a":1,"a":1})", true},
        DuplicateCase{"AfterManyKeys",
                      R"({"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,)"
                      R"("k9":9,"k10":0,"k11":1,"k12":2,"k13":3,"k14":4,"k15":5,"k16":6,)"
                      R"("k17":7,"k3":3})",
                      true},
        DuplicateCase{"SameKeyInSiblings", R"({"a":{"x":1},"b":{"x":2},"c":[{"x":3},{"x":4}]})",
                      false},
        DuplicateCase{"SameKeyParentAndChild", R"({"x":{"x":{"x":1}}})", false},
        DuplicateCase{"CaseDiffers", R"({"id":1,"ID":2,"Id":3})", false},
        DuplicateCase{"Scalars", R"([1,-2,3.5,"s",true,false,null])", false}),
    [](const ::testing::TestParamInfo<DuplicateCase>& info) { return info.param.name; });

TEST(ParseJson, ManyDistinctKeysStayCheap) {
  std::string text = "{";
  for (int i = 0; i < 100000; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  text += "}";
  auto parsed = parse_json(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed.value().as_object().size(), 100000u);
  text.insert(text.size() - 1, ",\"k99999\":2");
  EXPECT_FALSE(parse_json(text));
}

TEST(ParseJson, NumbersBeyondADoubleAreRefused) {
  // fuzz/jsonrpc: 1e400 was read as infinity and written back as
  // "Infinity", which no JSON reader (Bastion included) accepts.
  for (const char* text : {R"({"a":1e400})", R"([-1e8880])", R"({"x":{"y":[2.5e309]}})"}) {
    auto parsed = parse_json(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, kParseError);
    EXPECT_NE(parsed.error().message.find("out of range"), std::string::npos);
  }
  // The largest double and ordinary ones pass, and write back as JSON.
  auto ok = parse_json(R"({"a":1.7976931348623157e308,"b":-2.5,"c":1e-400})");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(parse_json(to_string(ok.value())));
}

TEST(ParseJson, RejectsTrailingData) {
  EXPECT_FALSE(parse_json(R"({"a":1} {"b":2})"));
  EXPECT_TRUE(parse_json(" {\"a\":1} \n"));
}

TEST(Version, NegotiatesDownAndFallsBackToLatest) {
  EXPECT_EQ(negotiate_version("2025-06-18"), "2025-06-18");
  EXPECT_EQ(negotiate_version("2025-03-26"), "2025-03-26");
  EXPECT_EQ(negotiate_version("2024-11-05"), kLatestVersion);
  EXPECT_EQ(negotiate_version("garbage"), kLatestVersion);
  std::string requested = "2025-06-18";
  EXPECT_NE(negotiate_version(requested).data(), requested.data());  // static storage
  EXPECT_TRUE(allows_batches("2025-03-26"));
  EXPECT_FALSE(allows_batches("2025-11-25"));
}

TEST(MakeResponse, CarriesErrorData) {
  RpcError e{kInvalidParams, "bad", json::object{{"field", "x"}}};
  auto o = make_response(json::value(3), Outcome(e));
  EXPECT_EQ(o.at("error").at("code").as_int64(), kInvalidParams);
  EXPECT_EQ(o.at("error").at("data").at("field").as_string(), "x");
  auto ok = make_response(json::value("id"), Outcome(json::object{{"a", 1}}));
  EXPECT_EQ(ok.at("result").at("a").as_int64(), 1);
}

// The server of a request takes its params out of the message, whole, once;
// the outcome's result moves into the response, equal to a copy's.
TEST(Message, ParamsAreTakenOnceAndResultsMovedWhole) {
  auto m = classify(json::parse(
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"t":[1,2]}}})"));
  ASSERT_TRUE(m);
  json::object p = m.value().take_params();
  EXPECT_EQ(json::serialize(p), R"({"name":"echo","arguments":{"t":[1,2]}})");
  EXPECT_TRUE(m.value().take_params().empty());
  EXPECT_EQ(m.value().method, "tools/call");
  Outcome o(json::object{{"content", json::array{json::object{{"type", "text"}}}}});
  const json::object copied = make_response(json::value(7), std::as_const(o));
  EXPECT_EQ(make_response(json::value(7), std::move(o)), copied);
}

}  // namespace
}  // namespace bastion::protocol
