#include "protocol/errors.hpp"

#include <gtest/gtest.h>

#include <set>

namespace bastion::protocol {
namespace {

TEST(ErrorCodes, EachCodeHasOneMeaning) {
  std::set<int> codes;
  std::set<std::string_view> names;
  for (const auto& e : kErrorCodes) {
    EXPECT_TRUE(codes.insert(e.code).second) << e.code << " has two names";
    EXPECT_TRUE(names.insert(e.name).second) << e.name << " has two codes";
  }
  EXPECT_NE(kRequestTimeout, kSessionNotFound);
  EXPECT_EQ(error_code_name(kSessionNotFound), "SessionNotFound");
  EXPECT_EQ(error_code_name(kRequestTimeout), "RequestTimeout");
  EXPECT_EQ(error_code_name(-32099), "");
}

// Codes of our own stay out of the range 2026-07-28 gives the specification.
TEST(ErrorCodes, NoneOfOursInTheSpecificationsRange) {
  for (const auto& e : kErrorCodes) {
    bool spec_range = e.code <= -32020 && e.code >= -32099;
    bool specified = e.code == kHeaderMismatch || e.code == kMissingRequiredClientCapability ||
                     e.code == kUnsupportedProtocolVersion || e.code == kUrlElicitationRequired;
    EXPECT_TRUE(!spec_range || specified) << e.name;
  }
  // The local timeout is outside the JSON-RPC reserved range altogether.
  EXPECT_TRUE(kRequestTimeout < -32768 || kRequestTimeout > -32000);
}

}  // namespace
}  // namespace bastion::protocol
