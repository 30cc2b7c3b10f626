// JSON-RPC messages as every transport reads them (HTTP bodies, stdio lines,
// upstream answers): protocol::parse_json (depth limit, duplicate keys) then
// protocol::classify. Promises checked: a parse error is -32700 and a classify
// error -32600/-32602 with a valid or null id; every error serializes as
// valid JSON; a classified message, serialized and read again, classifies the
// same way (what a relay forwards means what Bastion understood). The same
// bytes, read as a tool's inputSchema, go through protocol::param_headers.
// protocol::member_text (the zero-copy relay's locator) runs on every input:
// no read past the text, and on text parse_json accepted, a span it finds is
// one line and parses to the very member the parsed object holds.
#include "protocol/jsonrpc.hpp"

#include "fuzz_util.hpp"
#include "protocol/json_span.hpp"
#include "protocol/param_headers.hpp"

namespace {

using namespace bastion;
namespace json = boost::json;

void check_message(json::value v) {
  auto c = protocol::classify(std::move(v));
  if (!c.ok()) {
    const auto& e = c.error();
    FUZZ_CHECK(e.error.code == protocol::kInvalidRequest ||
               e.error.code == protocol::kInvalidParams);
    FUZZ_CHECK(e.id.is_null() || protocol::valid_id(e.id));
    FUZZ_CHECK(fuzz::wire_json(protocol::make_error(e.id, e.error)));
    return;
  }
  const auto& m = c.value();
  FUZZ_CHECK(m.kind == protocol::MessageKind::kNotification ? m.id.is_null()
                                                            : protocol::valid_id(m.id));
  if (m.kind == protocol::MessageKind::kRequest || m.kind == protocol::MessageKind::kNotification) {
    FUZZ_CHECK(m.raw.contains("method"));
    if (m.raw.contains("params")) FUZZ_CHECK(m.params() != nullptr);
  }
  std::string text = protocol::to_string(m.raw);
  auto again = protocol::parse_json(text);
  FUZZ_CHECK(again.ok());
  auto c2 = protocol::classify(std::move(again.value()));
  FUZZ_CHECK(c2.ok());
  const auto& m2 = c2.value();
  // Equal, except that a double may move by an ulp or so: Boost.JSON 1.81
  // parses numbers fast, not correctly rounded (1844674407370955551615 reads
  // as 1.8446744073709554E21, which reads back as ...552E21). Ids are
  // integers, so they never move.
  FUZZ_CHECK(m2.kind == m.kind && m2.method == m.method && m2.id == m.id);
  FUZZ_CHECK(fuzz::same_json(m2.raw, m.raw));
  if (m.kind == protocol::MessageKind::kRequest) {
    // The answer Bastion builds for it is itself a valid response.
    auto res = protocol::classify(protocol::make_result(m.id, json::object{}));
    FUZZ_CHECK(res.ok() && res.value().kind == protocol::MessageKind::kResponse);
    auto err = protocol::classify(protocol::make_error(m.id, protocol::method_not_found(m.method)));
    FUZZ_CHECK(err.ok() && err.value().kind == protocol::MessageKind::kError);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const std::optional<std::string_view> span = protocol::member_text(text, "result");
  if (span) {
    FUZZ_CHECK(span->data() >= text.data() && span->data() + span->size() <= text.data() + size);
    FUZZ_CHECK(span->find_first_of("\r\n") == std::string_view::npos);
  }
  auto parsed = protocol::parse_json(text);
  if (parsed && span) {
    FUZZ_CHECK(parsed->is_object());
    auto alone = protocol::parse_json(*span);
    FUZZ_CHECK(alone.ok());
    FUZZ_CHECK(alone.value() == parsed->get_object().at("result"));
  }
  if (!parsed.ok()) {
    const auto& e = parsed.error();
    FUZZ_CHECK(e.code == protocol::kParseError);
    FUZZ_CHECK(fuzz::wire_json(protocol::make_error(nullptr, e)));
    return 0;
  }
  json::value& v = parsed.value();
  // Any JSON as a tool's inputSchema (an upstream chooses it): valid
  // annotations name a header and a parameter; invalid ones yield none.
  auto headers = protocol::param_headers(v);
  if (headers.problem) FUZZ_CHECK(headers.headers.empty());
  for (const auto& h : headers.headers) FUZZ_CHECK(!h.name.empty() && !h.path.empty());
  if (v.is_array()) {
    for (auto& item : v.get_array()) check_message(std::move(item));
  } else {
    check_message(std::move(v));
  }
  return 0;
}
