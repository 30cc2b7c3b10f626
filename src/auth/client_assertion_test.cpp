#include "auth/client_assertion.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "auth/jws.hpp"

namespace bastion::auth {
namespace {

namespace json = boost::json;

// A private_key_jwt assertion (RFC 7523) for client "c" signed with `key`,
// its dates as given (raw JSON text, so absurd values can be written).
std::string assertion(const Key& key, const std::string& dates) {
  std::string payload = R"({"iss":"c","sub":"c","aud":"https://as.example/oauth2/token","jti":"j1")" +
                        dates + "}";
  return jws_sign(key, payload, json::object{{"typ", "JWT"}}).value();
}

Status verify(const std::string& a, const std::shared_ptr<const Key>& key) {
  AssertionRules rules;
  rules.audiences = {"https://as.example/oauth2/token"};
  rules.now = 1'700'000'000;
  return verify_client_assertion(a, "c", {key}, rules, nullptr);
}

// attack: an assertion signed with keys the attacker publishes (a client
// metadata document's jwks) whose dates are absurd: huge integers, huge or
// fractional doubles, negatives, strings. Each is refused with a reason;
// none reaches signed-integer overflow or an out-of-range cast (UBSan in
// the sanitizer stage). An assertion with sane dates is accepted.
TEST(ClientAssertion, AbsurdDatesAreRefusedWithoutOverflow) {
  auto key = std::make_shared<const Key>(Key::generate(Alg::kES256));
  EXPECT_TRUE(verify(assertion(*key, R"(,"exp":1700000100,"iat":1700000000)"), key).ok());
  for (const char* dates : {
           R"(,"exp":9223372036854775807)",
           R"(,"exp":18446744073709551615)",
           R"(,"exp":1e300)",
           R"(,"exp":1700000100.5)",
           R"(,"exp":-1)",
           R"(,"exp":"1700000100")",
           R"(,"exp":1700000100,"nbf":9223372036854775807)",
           R"(,"exp":1700000100,"iat":1e300)",
           R"(,"exp":1700000100,"nbf":-9223372036854775807)",
           R"()",
       }) {
    auto st = verify(assertion(*key, dates), key);
    EXPECT_FALSE(st.ok()) << dates;
  }
}

}  // namespace
}  // namespace bastion::auth
