// The per-request metadata of MCP 2026-07-28 (protocol::era_of,
// read_request_meta): every Modern request names its protocol version,
// client capabilities, client info, log level and trace context in
// params._meta, all attacker-written. Input: the first line is the
// MCP-Protocol-Version header, the rest the request's params (JSON).
// Promises checked: era_of never throws and reads Modern only when a
// Modern version is named (in _meta or the header); read_request_meta
// either refuses with -32602 or -32022 and a printable message, or returns
// a Modern version, a known log level (or none) and a trace context that is
// well-formed or empty (a malformed one is dropped, never relayed);
// errors serialize to JSON a strict reader accepts.
#include <algorithm>
#include <boost/json.hpp>

#include "fuzz_util.hpp"
#include "protocol/era.hpp"

using namespace bastion;
namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = fuzz::as_text(data, size);
  std::string_view header = fuzz::take(rest, '\n');
  json::error_code ec;
  json::value params = json::parse(rest, ec);
  if (ec) return 0;
  const json::object* p = params.is_object() ? &params.get_object() : nullptr;

  protocol::Era era = protocol::era_of(p, header);
  if (era == protocol::Era::kModern && !protocol::is_modern_version(header)) {
    // Modern without the header: the _meta must have named a Modern version.
    const json::object* meta = nullptr;
    if (p)
      if (auto* m = p->if_contains("_meta"); m && m->is_object()) meta = &m->get_object();
    FUZZ_CHECK(meta);
    auto* v = meta->if_contains(protocol::meta_key::kProtocolVersion);
    FUZZ_CHECK(v);  // any value but a Legacy version string
  }

  auto meta = protocol::read_request_meta(p);
  if (!meta) {
    const auto& e = meta.error();
    FUZZ_CHECK(e.code == protocol::kInvalidParams || e.code == protocol::kUnsupportedProtocolVersion);
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(fuzz::wire_json(e.to_json()));
    return 0;
  }
  const auto& m = meta.value();
  FUZZ_CHECK(protocol::is_modern_version(m.protocol_version));
  FUZZ_CHECK(m.traceparent.empty() || protocol::valid_traceparent(m.traceparent));
  FUZZ_CHECK(m.tracestate.empty() || !m.traceparent.empty());
  for (unsigned char c : m.tracestate) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
  FUZZ_CHECK(m.tracestate.size() <= 512);
  static const std::string_view kLevels[] = {"",      "debug",    "info",  "notice",   "warning",
                                             "error", "critical", "alert", "emergency"};
  FUZZ_CHECK(std::find(std::begin(kLevels), std::end(kLevels), m.log_level) != std::end(kLevels));
  return 0;
}
