#include "protocol/arguments.hpp"

#include <gtest/gtest.h>

namespace bastion::protocol {
namespace {

namespace json = boost::json;

TEST(CheckArguments, RequiredAndPrimitiveTypes) {
  json::object schema = json::parse(R"({"type":"object","required":["n"],"properties":{
      "n":{"type":"integer"},"s":{"type":"string"},"b":{"type":"boolean"},
      "o":{"type":"object"},"a":{"type":"array"},"z":{"type":"null"},"x":{"type":"number"},
      "any":{}}})")
                            .as_object();
  EXPECT_EQ(check_arguments(schema, json::object{}), "missing required argument 'n'");
  EXPECT_EQ(check_arguments(schema, json::object{{"n", 1},
                                                 {"s", "t"},
                                                 {"b", true},
                                                 {"x", 1.5},
                                                 {"o", json::object{}},
                                                 {"a", json::array{}},
                                                 {"z", nullptr},
                                                 {"any", 3},
                                                 {"extra", 4}}),
            "");
  EXPECT_EQ(check_arguments(schema, json::object{{"n", 2.0}}), "");  // integral double
  EXPECT_EQ(check_arguments(schema, json::object{{"n", 2.5}}),
            "argument 'n' must be of type integer");
  EXPECT_EQ(check_arguments(schema, json::object{{"n", 1}, {"s", 1}}),
            "argument 's' must be of type string");
  EXPECT_EQ(check_arguments(schema, json::object{{"n", 1}, {"b", "true"}}),
            "argument 'b' must be of type boolean");
  EXPECT_EQ(check_arguments(json::object{}, json::object{{"q", 1}}), "");
}

}  // namespace
}  // namespace bastion::protocol
