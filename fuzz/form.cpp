// The token endpoint's request parsing (RFC 6749): the form body
// (auth::parse_form, protocol::form_decode) and the client_secret_basic Authorization
// header (auth::parse_basic_credentials). Input: the first line is the
// Authorization header value, the rest the body. Promises checked: a parsed
// form has no repeated and no empty parameter; encoding a form and parsing
// it again gives it back; decoding undoes encoding for any bytes; Basic
// credentials have a non-empty id and encode back to credentials that parse
// the same.
#include "auth/form.hpp"

#include <set>

#include "auth/http_util.hpp"
#include "fuzz_util.hpp"
#include "protocol/base64.hpp"
#include "protocol/form.hpp"

using namespace bastion;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = fuzz::as_text(data, size);
  std::string_view header = fuzz::take(rest, '\n');
  std::string_view body = rest;

  auto basic = auth::parse_basic_credentials(header);
  if (basic.ok()) {
    const auto& c = basic.value();
    FUZZ_CHECK(!c.id.empty());
    std::string again = "Basic " + protocol::base64_encode(auth::form_encode(c.id) + ":" +
                                                           auth::form_encode(c.secret));
    auto back = auth::parse_basic_credentials(again);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(back.value().id == c.id && back.value().secret == c.secret);
  }

  std::string error;
  auto form = auth::parse_form(body, &error);
  if (!form) {
    FUZZ_CHECK(!error.empty());
  } else {
    std::set<std::string> names;
    std::string encoded;
    for (const auto& [k, v] : *form) {
      FUZZ_CHECK(names.insert(k).second);
      FUZZ_CHECK(!v.empty());
      FUZZ_CHECK(auth::form_get(*form, k) == &v);
      encoded += (encoded.empty() ? "" : "&") + auth::form_encode(k) + "=" + auth::form_encode(v);
    }
    auto again = auth::parse_form(encoded, nullptr);
    FUZZ_CHECK(again && *again == *form);
  }

  auto decoded = protocol::form_decode(body);
  FUZZ_CHECK(protocol::form_decode(auth::form_encode(body)) == std::string(body));
  if (decoded) FUZZ_CHECK(decoded->size() <= body.size());
  return 0;
}
