// The PII scanner and masker on text from anywhere: tool arguments and
// results, upstream stderr. The first byte picks the mode:
//   0: the rest is text: scan (findings), mask_text, the normalized view,
//      scan_number on its digits, and the log sanitizer;
//   1: the rest is a JSON message, to which the policy is applied (mask,
//      encrypt, reject), as the PII filter does with every message.
// Promises checked: findings are in bounds, sorted, non-overlapping and
// scored in [0, 1]; scan_each hands on scan's findings (handed on at every
// place it can be, one held at a time) and scan_key returns them (also when
// it remembers a clean key); masking valid UTF-8 gives valid UTF-8; the normalized
// view maps back inside the text; a sanitized log line has no control
// character and is valid UTF-8; under a policy, `allow` leaves the message
// as it was, every action sees the same PII, `reject` errs exactly when
// there is PII (with an error that is valid JSON), and `mask`/`encrypt`
// leave valid JSON valid.
#include "fuzz_util.hpp"
#include "pii/log_sanitize.hpp"
#include "pii/mask.hpp"
#include "pii/normalize.hpp"
#include "pii/policy.hpp"
#include "pii/scanner.hpp"

namespace {

using namespace bastion;
using namespace bastion::pii;
namespace json = boost::json;

const PiiScanner& scanner() {
  static const PiiScanner s;
  return s;
}

bool valid_utf8(std::string_view s) { return fuzz::wire_json(json::string(s)); }

void check_findings(std::string_view text, const std::vector<Finding>& fs) {
  std::size_t last_end = 0;
  for (const auto& f : fs) {
    FUZZ_CHECK(!f.type.empty());
    FUZZ_CHECK(f.begin < f.end && f.end <= text.size());
    FUZZ_CHECK(f.begin >= last_end);
    FUZZ_CHECK(f.confidence >= 0 && f.confidence <= 1);
    last_end = f.end;
  }
}

bool same(const Finding& f, const Finding& w) {
  return f.type == w.type && f.begin == w.begin && f.end == w.end && f.confidence == w.confidence &&
         f.detail == w.detail && std::string_view(f.normalized) == std::string_view(w.normalized);
}

// scan_each's findings are scan's, field by field, in the same order.
void check_stream(std::string_view text, const std::vector<Finding>& want) {
  std::size_t i = 0;
  scanner().scan_each(
      text,
      [&](std::span<Finding> batch) {
        FUZZ_CHECK(!batch.empty());
        for (const Finding& f : batch) {
          FUZZ_CHECK(i < want.size());
          FUZZ_CHECK(same(f, want[i++]));
        }
      },
      1);
  FUZZ_CHECK(i == want.size());
}

// scan_key's findings are scan's, the first time and again (when a clean
// key may come from the thread's cache of keys).
void check_key(std::string_view key) {
  const auto want = scanner().scan(key);
  for (int round = 0; round < 2; ++round) {
    const auto got = scanner().scan_key(key);
    FUZZ_CHECK(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) FUZZ_CHECK(same(got[i], want[i]));
  }
}

void check_text(std::string_view text) {
  auto findings = scanner().scan(text);
  check_findings(text, findings);
  check_stream(text, findings);
  // As a key: the text when short enough to be remembered, and its first bytes.
  for (std::size_t n : {text.size(), std::size_t{5}, PiiScanner::kKeyCacheLen})
    if (n <= text.size() && n <= PiiScanner::kKeyCacheLen) check_key(text.substr(0, n));
  std::string masked = mask_text(text, findings);
  if (valid_utf8(text)) FUZZ_CHECK(valid_utf8(masked));

  NormalizedText view(text);
  FUZZ_CHECK(view.original() == text);
  for (std::size_t b = 0; b < view.text().size(); b += 1 + view.text().size() / 7) {
    auto [ob, oe] = view.original_span(b, view.text().size());
    FUZZ_CHECK(ob <= oe && oe <= text.size());
  }

  std::string digits;
  for (char c : text)
    if (c >= '0' && c <= '9' && digits.size() < 24) digits += c;
  if (!digits.empty())
    if (auto f = scanner().scan_number(digits))
      FUZZ_CHECK(f->begin == 0 && f->end == digits.size());

  std::string line = sanitize_log_line(text, scanner());
  FUZZ_CHECK(valid_utf8(line));
  for (unsigned char c : line) FUZZ_CHECK(c >= 0x20 && c != 0x7f);
  std::string escaped = escape_log_text(text);
  FUZZ_CHECK(valid_utf8(escaped));
  for (unsigned char c : escaped) FUZZ_CHECK(c >= 0x20 && c != 0x7f);
}

const PolicyOptions& policy(PiiAction a) {
  static const PolicyOptions opts[] = {
      [] {
        PolicyOptions o;
        o.default_action = PiiAction::kAllow;
        return o;
      }(),
      [] {
        PolicyOptions o;
        o.default_action = PiiAction::kMask;
        return o;
      }(),
      [] {
        PolicyOptions o;
        o.default_action = PiiAction::kEncrypt;
        return o;
      }(),
      [] {
        PolicyOptions o;
        o.default_action = PiiAction::kReject;
        return o;
      }(),
  };
  return opts[static_cast<int>(a)];
}

void check_message(const json::value& msg) {
  Encryptor enc = [](std::string_view) { return std::string("gAAAAA-token"); };
  PolicyOutcome first;
  for (PiiAction a :
       {PiiAction::kAllow, PiiAction::kMask, PiiAction::kEncrypt, PiiAction::kReject}) {
    json::value v = msg;
    ResolvedPolicy r(policy(a), "server", "tool", Direction::kResponse);
    PolicyOutcome out = apply_policy(v, scanner(), r, enc, Exempt{{"name"}, true});
    if (a == PiiAction::kAllow) {
      FUZZ_CHECK(v == msg);
      first = out;
      continue;
    }
    FUZZ_CHECK(out.contains_pii == first.contains_pii);
    if (a == PiiAction::kReject) {
      FUZZ_CHECK(out.error.has_value() == out.contains_pii);
      if (out.error) FUZZ_CHECK(fuzz::wire_json(protocol::make_error(1, *out.error)));
    } else {
      FUZZ_CHECK(!out.error);
      FUZZ_CHECK(fuzz::wire_json(v) || !fuzz::wire_json(msg));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view text = fuzz::as_text(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    check_text(text);
    return 0;
  }
  boost::system::error_code ec;
  json::value msg = json::parse(text, ec);
  if (!ec) check_message(msg);
  return 0;
}
