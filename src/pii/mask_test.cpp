#include "pii/mask.hpp"

#include <gtest/gtest.h>

namespace bastion::pii {
namespace {

TEST(PiiMask, Values) {
  struct C {
    const char* type;
    const char* value;
    const char* masked;
  } cases[] = {
      {"email", "hong.gildong@example.com", "***@example.com"},
      {"phone", "010-1234-5678", "010-****-5678"},
      {"phone", "01012345678", "010****5678"},
      {"phone", "+82 10-1234-5678", "+82 **-****-5678"},
      {"phone", "02-123-4567", "02-***-4567"},
      {"credit_card", "4111-1111-1111-1234", "****-****-****-1234"},
      {"credit_card", "4111111111111234", "************1234"},
      {"rrn", "900101-1234567", "900101-1******"},
      {"rrn", "9001011234567", "9001011******"},
      {"korean_name", "김철수", "김**"},
      {"korean_name", "남궁민수", "남***"},
      {"ssn", "123-45-6789", "***-**-6789"},
      {"iban", "DE89370400440532013000", "[REDACTED:iban]"},
      {"jwt", "eyJ...", "[REDACTED:jwt]"},
  };
  for (const auto& c : cases) EXPECT_EQ(mask_value(c.type, c.value), c.masked) << c.value;
  MaskOptions o;
  o.keep_email_domain = false;
  o.redact_types = {"phone"};
  EXPECT_EQ(mask_value("email", "a@b.com", o), "[REDACTED:email]");
  EXPECT_EQ(mask_value("phone", "010-1234-5678", o), "[REDACTED:phone]");
}

TEST(PiiMask, TextWithOverlappingFindings) {
  std::string t = "call 010-1234-5678 or mail kim@example.com";
  std::vector<Finding> f = {{"email", 27, 42, 0.9, ""},
                            {"phone", 5, 18, 0.9, ""},
                            {"ipv4", 6, 10, 0.5, ""}};  // overlaps the phone, loses
  EXPECT_EQ(mask_text(t, f), "call 010-****-5678 or mail ***@example.com");
}

TEST(PiiMask, NameKeepsHonorific) {
  PiiScanner s;
  std::string t = "김철수님 안녕하세요";
  EXPECT_EQ(mask_text(t, s.scan(t)), "김**님 안녕하세요");
}

}  // namespace
}  // namespace bastion::pii
