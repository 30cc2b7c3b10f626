// MCP 2026-07-28 custom headers (protocol/param_headers): a tool's
// `x-mcp-header` annotations come from an upstream's tools/list and the
// Mcp-Param-* headers and arguments from a client, all attacker-written.
// Input, one part per line: the tool's inputSchema (JSON), the call's
// arguments (JSON, or an empty line for none), a text for the header-value
// encoder, then received headers as `Name: value` lines (the part after
// `Mcp-Param-`).
// Promises checked: nothing throws; valid annotations have unique,
// non-empty names and a supported type; a header value Bastion writes is
// within the bounds and holds only visible ASCII (no CR/LF can reach an
// upstream's request), and what it mirrors for a call the server side
// accepts for that same call (the two halves agree); encode_header_text
// round-trips through decode_header_value; a refusal's reason is printable.
#include <boost/json.hpp>

#include "fuzz_util.hpp"
#include "protocol/param_headers.hpp"

using namespace bastion;
namespace json = boost::json;

namespace {

bool visible_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// An RFC 9110 field value Bastion may write: visible ASCII and inner
// spaces, nothing a header parser would trim or split on.
bool field_value(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return s.empty() || (s.front() != ' ' && s.back() != ' ');
}

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  std::string_view schema_text = in.line();
  std::string_view args_text = in.line();
  std::string_view text = in.line();

  // The encoder on its own: any bytes come back unchanged.
  std::string encoded = protocol::encode_header_text(text);
  FUZZ_CHECK(field_value(encoded));
  auto decoded = protocol::decode_header_value(encoded);
  FUZZ_CHECK(decoded && *decoded == text);

  json::error_code ec;
  json::value schema = json::parse(schema_text, ec);
  if (ec) return 0;
  json::value args = args_text.empty() ? json::value() : json::parse(args_text, ec);
  if (ec) return 0;
  const json::value* arguments = args_text.empty() ? nullptr : &args;

  protocol::ParamHeaders annotations = protocol::param_headers(schema);
  if (annotations.problem) {
    FUZZ_CHECK(!annotations.problem->empty());
    return 0;
  }
  const auto& headers = annotations.headers;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    FUZZ_CHECK(!headers[i].name.empty() && visible_ascii(headers[i].name));
    FUZZ_CHECK(!headers[i].path.empty());
    FUZZ_CHECK(headers[i].type == "string" || headers[i].type == "integer" ||
               headers[i].type == "boolean");
    for (std::size_t j = 0; j < i; ++j) {
      const auto &a = headers[i].name, &b = headers[j].name;
      FUZZ_CHECK(a.size() != b.size() ||
                 !std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                   return std::tolower(static_cast<unsigned char>(x)) ==
                          std::tolower(static_cast<unsigned char>(y));
                 }));
    }
  }

  // The client half (the gateway toward a Modern upstream), then the server
  // half on what it wrote.
  auto mirrored = protocol::mirror_param_headers(headers, arguments);
  if (mirrored) {
    std::size_t total = 0;
    protocol::ReceivedParamHeaders back;
    for (const auto& [name, value] : mirrored.value()) {
      FUZZ_CHECK(name.starts_with(protocol::kParamHeaderPrefix));
      FUZZ_CHECK(visible_ascii(name));
      FUZZ_CHECK(field_value(value));
      FUZZ_CHECK(value.size() <= protocol::kMaxParamHeaderValue);
      total += value.size();
      back.emplace_back(name.substr(protocol::kParamHeaderPrefix.size()), value);
    }
    FUZZ_CHECK(total <= protocol::kMaxParamHeaderTotal);
    auto verdict = protocol::check_param_headers(headers, back, arguments);
    if (verdict) std::fprintf(stderr, "refused its own mirror: %s\n", verdict->c_str());
    FUZZ_CHECK(!verdict);
  } else {
    FUZZ_CHECK(!mirrored.error().reason.empty());
  }

  // The server half on what a client sent.
  protocol::ReceivedParamHeaders received;
  while (true) {
    std::string_view line = in.line();
    if (line.empty()) break;
    std::string_view name = fuzz::take(line, ':');
    received.emplace_back(std::string(name), std::string(line));
  }
  if (auto why = protocol::check_param_headers(headers, received, arguments))
    FUZZ_CHECK(!why->empty() && printable(*why));
  return 0;
}
