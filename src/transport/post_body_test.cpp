#include "transport/post_body.hpp"

#include <gtest/gtest.h>

namespace bastion::transport {
namespace {

namespace json = boost::json;

struct BodyCase {
  const char* name;
  const char* body;
  int code;  // 0: read; else the refusal's JSON-RPC code
  json::value id;
  bool batch;
  std::size_t requests;
  bool initialize;
};
class PostBodyTest : public ::testing::TestWithParam<BodyCase> {};

TEST_P(PostBodyTest, Reads) {
  const auto& c = GetParam();
  auto r = read_post_body(c.body);
  if (c.code != 0) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, c.code) << r.error().reason;
    EXPECT_EQ(r.error().status, http::status::bad_request);
    EXPECT_EQ(r.error().id, c.id);
    return;
  }
  ASSERT_TRUE(r) << r.error().reason;
  EXPECT_EQ(r->batch, c.batch);
  EXPECT_EQ(r->requests, c.requests);
  EXPECT_EQ(r->initialize, c.initialize);
  EXPECT_EQ(r->id, c.id);
}

constexpr int kParse = -32700, kInvalid = -32600, kParams = -32602;

INSTANTIATE_TEST_SUITE_P(
    Endpoint, PostBodyTest,
    ::testing::Values(
        BodyCase{"Request", R"({"jsonrpc":"2.0","id":5,"method":"ping"})", 0, 5, false, 1, false},
        BodyCase{"StringId", R"({"jsonrpc":"2.0","id":"a","method":"ping"})", 0, "a", false, 1,
                 false},
        BodyCase{"Notification", R"({"jsonrpc":"2.0","method":"notifications/x"})", 0, nullptr,
                 false, 0, false},
        BodyCase{"Response", R"({"jsonrpc":"2.0","id":3,"result":{}})", 0, nullptr, false, 0,
                 false},
        BodyCase{"Initialize", R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})", 0,
                 1, false, 1, true},
        BodyCase{
            "BatchOfTwo",
            R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}])",
            0, nullptr, true, 2, false},
        BodyCase{"BatchWithOneRequest",
                 R"([{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","method":"n"}])", 0,
                 7, true, 1, false},
        BodyCase{"TruncatedJson", R"({"jsonrpc":"2.0","id":1,"meth)", kParse, nullptr, false, 0,
                 false},
        BodyCase{"DuplicateKey", R"({"jsonrpc":"2.0","id":1,"id":2,"method":"ping"})", kParse,
                 nullptr, false, 0, false},
        BodyCase{"Scalar", "42", kInvalid, nullptr, false, 0, false},
        BodyCase{"EmptyBatch", "[]", kInvalid, nullptr, false, 0, false},
        BodyCase{"BatchOfScalars", "[1,2]", kInvalid, nullptr, false, 0, false},
        BodyCase{"BadVersionKeepsId", R"({"jsonrpc":"1.0","id":9,"method":"ping"})", kInvalid, 9,
                 false, 0, false},
        BodyCase{"ArrayParams", R"({"jsonrpc":"2.0","id":4,"method":"x","params":[1]})", kParams, 4,
                 false, 0, false},
        BodyCase{"InitializeAloneInABatch",
                 R"([{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}])", kInvalid, 1,
                 false, 0, false},
        BodyCase{"InitializeWithOthers",
                 R"([{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}},)"
                 R"({"jsonrpc":"2.0","id":2,"method":"ping"}])",
                 kInvalid, nullptr, false, 0, false}),
    [](const ::testing::TestParamInfo<BodyCase>& info) { return info.param.name; });

}  // namespace
}  // namespace bastion::transport
