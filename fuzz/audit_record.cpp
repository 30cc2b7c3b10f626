// Audit records and the signed head as the readers (`bastion audit`, the
// audit tools), the verifier and the writer's restart read them back from
// disk, where anyone with access could have edited them; and the sanitizer
// every record passes before it is written. Input: a file's text.
// Promises checked: records parse line by line without crashing whatever
// the bytes; a checkpoint's compact range restores only with one hash per
// set bit of its size; a parsed head formats back to 512 bytes that parse
// the same; fingerprints and public keys parse canonically; a sanitized
// record has no JWT, no credential-named value and no string over the cap,
// and stays valid JSON; a string written as a call record's member is what
// sanitizing and escaping it write.
#include <cctype>

#include "audit/format.hpp"
#include "audit/head.hpp"
#include "audit/key.hpp"
#include "audit/sanitize.hpp"
#include "fuzz_util.hpp"
#include "protocol/json_text.hpp"

namespace {

using namespace bastion;
using namespace bastion::audit;
namespace json = boost::json;

bool b64url_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// What sanitize.hpp promises never reaches a record: a JWT-shaped run
// ("eyJ" and 5+ base64url characters, then '.', not glued to a preceding
// base64url character).
bool has_jwt(std::string_view s) {
  for (auto at = s.find("eyJ"); at != std::string_view::npos; at = s.find("eyJ", at + 1)) {
    if (at > 0 && b64url_char(s[at - 1])) continue;
    std::size_t p = at;
    while (p < s.size() && b64url_char(s[p])) ++p;
    if (p - at >= 8 && p < s.size() && s[p] == '.') return true;
  }
  return false;
}

// Every string within the cap (plus its "...[cut, N bytes]" note), with no
// JWT; credential-named members hold nothing but the marker.
void check_clean(const json::value& v) {
  if (v.is_string()) {
    FUZZ_CHECK(v.get_string().size() <= kMaxRecordString + 32);
    // The cap's marker ("...[cut, N bytes]") starts with dots: a base64url
    // run it cuts ("eyJhbGciOiJIUz" of a text that had no dot) is no JWT.
    std::string_view s = v.get_string();
    if (auto cut = s.rfind("...[cut, "); cut != std::string_view::npos && s.ends_with(" bytes]"))
      s = s.substr(0, cut);
    FUZZ_CHECK(!has_jwt(s));
  } else if (v.is_array()) {
    for (const auto& e : v.get_array()) check_clean(e);
  } else if (v.is_object()) {
    for (const auto& [k, e] : v.get_object()) {
      std::string key(k);
      for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (key == "authorization" || key == "cookie" || key.ends_with("token") ||
          key.ends_with("password"))
        FUZZ_CHECK(e == "[removed]");
      check_clean(e);
    }
  }
}

void check_record(std::string_view line) {
  auto rec = parse_record(line);
  if (!rec) return;
  get_u64(*rec, "seq");
  get_str(*rec, "prev");
  if (is_checkpoint(*rec)) {
    if (auto r = range_of(*rec)) {
      auto size = get_u64(*rec, "tree_size");
      FUZZ_CHECK(size && r->size() == *size);
      FUZZ_CHECK(r->hashes().size() == static_cast<std::size_t>(__builtin_popcountll(*size)));
    }
  }
  bool was_wire = fuzz::wire_json(*rec);
  json::object clean = *rec;
  sanitize_event(clean);
  check_clean(clean);
  if (was_wire) FUZZ_CHECK(fuzz::wire_json(clean));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  for (auto line : split_lines(text)) check_record(line);

  if (auto h = parse_head(text)) {
    FUZZ_CHECK(h->legacy || h->hash.size() == 64);
    if (!h->legacy) {
      std::string again = format_head(*h);
      FUZZ_CHECK(again.size() == kHeadFileBytes && again.back() == '\n');
      if (auto back = parse_head(again)) {
        FUZZ_CHECK(back->seq == h->seq && back->hash == h->hash && back->ts == h->ts &&
                   back->shutdown == h->shutdown && back->interval_ms == h->interval_ms &&
                   back->sig == h->sig);
        FUZZ_CHECK(head_message(*back, "fp") == head_message(*h, "fp"));
      }
    }
  }
  if (auto fp = parse_fingerprint(text)) FUZZ_CHECK(parse_fingerprint(*fp) == fp);
  if (auto pk = parse_public_key(text)) {
    FUZZ_CHECK(pk->size() == 32);
    FUZZ_CHECK(parse_fingerprint(key_fingerprint(*pk)).has_value());
  }
  check_clean(json::string(sanitize_string(text)));
  // A call record's strings: the fast path writes what sanitizing and then
  // escaping write.
  std::string fast, slow;
  append_sanitized_json(fast, text);
  protocol::append_json_string(slow, sanitize_string(text));
  FUZZ_CHECK(fast == slow);
  return 0;
}
