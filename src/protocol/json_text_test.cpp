#include "protocol/json_text.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>

#include "protocol/jsonrpc.hpp"

namespace bastion::protocol {
namespace {

namespace json = boost::json;

std::string rewritten(std::string_view text) {
  auto parsed = parse_json(text);
  EXPECT_TRUE(parsed) << text;
  return json_text(parsed.value());
}

struct NumberCase {
  const char* in;
  const char* out;
};

// Numbers as an upstream or a client writes them, and as Bastion writes them
// back: as written when that is the shortest form, the same value always.
TEST(JsonText, NumbersInShortestRoundTripForm) {
  const NumberCase cases[] = {
      {"7.4", "7.4"},
      {"0.1", "0.1"},
      {"-2.5", "-2.5"},
      {"1.0", "1.0"},
      {"-0.0", "-0.0"},
      {"3.141592653589793", "3.141592653589793"},
      {"1e22", "1e+22"},
      {"1.5e-7", "1.5e-07"},
      {"42", "42"},
      {"-42", "-42"},
      {"18446744073709551615", "18446744073709551615"},
      {"-9223372036854775808", "-9223372036854775808"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(rewritten(c.in), c.out) << c.in;
    // The value survives the trip exactly.
    auto a = parse_json(c.in).value();
    auto b = parse_json(rewritten(c.in)).value();
    if (a.is_double()) {
      EXPECT_EQ(a.get_double(), b.get_double()) << c.in;
    } else {
      EXPECT_EQ(a, b) << c.in;
    }
  }
}

TEST(JsonText, SameAsBoostForEverythingButDoubles) {
  const char* texts[] = {
      R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}})",
      R"(["a\"b","c\\d","\n\r\t\b\f","\u0001\u001f","é 世界 😀","</script>",null,true,false])",
      R"({"":{},"k":[],"nested":[[[{"a":[1,-2,3]}]]]})",
      R"("\u007f")",
  };
  for (const char* t : texts) {
    auto v = parse_json(t).value();
    EXPECT_EQ(json_text(v), json::serialize(v)) << t;
    // An object is written where it is, the same text.
    if (v.is_object()) {
      EXPECT_EQ(json_text(v.get_object()), json::serialize(v)) << t;
      std::string appended = "x";
      append_json(appended, v.get_object());
      EXPECT_EQ(appended, "x" + json::serialize(v)) << t;
    }
  }
}

TEST(JsonText, OutputParsesBackToTheSameValue) {
  std::string all_bytes;
  for (int c = 1; c < 256; ++c) all_bytes.push_back(static_cast<char>(c < 128 ? c : 'x'));
  json::object o{{"s", all_bytes}, {"d", json::array{7.4, 1e300, -1e-300, 0.0, 2.0}}};
  auto back = parse_json(json_text(o)).value();
  EXPECT_EQ(back, json::value(o));
}

// The string writer skips 8 bytes at a time while none needs an escape:
// every byte value, at every offset of strings long enough to hold one word,
// two and a tail, among plain ASCII and among bytes >= 0x80 (which must not
// be taken for one either), is written as Boost writes it.
TEST(JsonText, EveryByteEscapedAtEveryOffsetOfAWord) {
  for (char filler : {'a', static_cast<char>(0xC3), '~'}) {
    for (std::size_t len : {1, 7, 8, 9, 15, 16, 17, 23, 24, 25}) {
      for (std::size_t at = 0; at < len; ++at) {
        for (int c = 0; c < 256; ++c) {
          std::string text(len, filler);
          text[at] = static_cast<char>(c);
          std::string out;
          append_json_string(out, text);
          ASSERT_EQ(out, json::serialize(json::string(text)))
              << "byte " << c << " at " << at << " of " << len;
        }
      }
    }
  }
}

TEST(JsonText, NonFiniteDoublesAreNull) {
  json::array a{std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()};
  EXPECT_EQ(json_text(a), "[null,null]");
}

}  // namespace
}  // namespace bastion::protocol
