// The sealed requestState of multi round-trip requests (protocol::StateSealer):
// a client hands it back, so every byte is the attacker's. Input: the first
// line is a token to open; the rest a JSON payload to seal. Promises checked:
// a token this process never sealed does not open (a forgery); a sealed
// payload opens to itself for the same binding and not for another
// principal, method, target or arguments, nor after its expiry; changing any
// one character of a sealed token makes it not open; tokens are printable
// ASCII.
#include <boost/json.hpp>
#include <chrono>

#include "fuzz_util.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/sealed_state.hpp"

namespace {

using namespace bastion;
using protocol::StateBinding;
using protocol::StateSealer;
namespace json = boost::json;

const StateSealer& sealer() {
  static auto s = StateSealer::random(std::chrono::seconds(600));
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = fuzz::as_text(data, size);
  std::string_view token = fuzz::take(rest, '\n');
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'900'000'000));
  const StateBinding bound{"client\nalice", "tools/call", "echo", R"({"x":1})"};

  // Nobody but this sealer's key makes a token that opens.
  FUZZ_CHECK(!sealer().open(token, bound, now));

  // Payloads are what Bastion itself parsed (protocol::parse_json: no
  // infinities from out-of-range numbers), so read them the same way.
  auto parsed = protocol::parse_json(rest);
  if (!parsed.ok()) return 0;
  const json::value& payload = parsed.value();
  std::string sealed = sealer().seal(payload, bound, now);
  for (unsigned char c : sealed) FUZZ_CHECK(c > 0x20 && c < 0x7f);
  auto opened = sealer().open(sealed, bound, now);
  FUZZ_CHECK(opened);
  FUZZ_CHECK(fuzz::same_json(opened.value(), payload));

  for (StateBinding other : {StateBinding{"client\nmallory", bound.method, bound.target, bound.arguments},
                             StateBinding{bound.principal, "prompts/get", bound.target, bound.arguments},
                             StateBinding{bound.principal, bound.method, "echo2", bound.arguments},
                             StateBinding{bound.principal, bound.method, bound.target, R"({"x":2})"}})
    FUZZ_CHECK(!sealer().open(sealed, other, now));
  FUZZ_CHECK(!sealer().open(sealed, bound, now + sealer().ttl() + std::chrono::seconds(1)));

  // One changed character anywhere (chosen by the token line's length).
  std::string tampered = sealed;
  std::size_t at = token.size() % tampered.size();
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  FUZZ_CHECK(!sealer().open(tampered, bound, now));
  return 0;
}
