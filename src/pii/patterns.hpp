// PII pattern data: which cheap anchors the scanner looks for, which C++
// validator confirms each one, and the word lists the validators use
// (Korean surnames, words that look like names but are not, secret key
// names). Loaded from JSON so operators can extend the defaults.
//
// Bastion format (data/pii/default.json is the reference copy):
//   {
//     "format": "bastion-pii/1",
//     "anchors": [ {"validator": "email", "native": true},
//                  {"validator": "jwt", "regex": "eyJ", "caseless": false}, ... ],
//     "secret_keys": ["api_key", "password", ...],     // `key = value` / `key: value`
//     "korean_surnames": ["김", "이", "남궁", ...],       // one or two syllables
//     "name_stop_words": ["날씨", "고객님", ...],         // never reported as names
//     "patterns": { "employee_id": "EMP-[0-9]{6}",      // extra whole-match regexes,
//                   "ticket": {"regex": "T-[0-9]+", "confidence": 0.6} }
//   }
// Validators: email, number (phones, RRN, cards, SSN, IPv4, E.164), ipv6,
// iban, korean_name, aws_access_key, secret_assignment, bearer, jwt,
// private_key, github_token, slack_token.
//
// The seed's pii_patterns.json (a flat map name -> Python regex) is accepted
// too: each entry becomes a whole-match pattern reported as that name. A
// trailing lookahead `(?=X)` is checked after the match; any other construct
// Vectorscan lacks (lookbehind, backreferences, inner lookarounds) fails the
// load with a PatternError naming the pattern.
#pragma once

#include <boost/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::pii {

class PatternError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct AnchorSpec {
  std::string validator;
  std::string regex;
  bool caseless = false;
  // Found by the scanner's own vectorised pass instead of a regex: digit
  // runs for "number", colons between hex digits for "ipv6", each '@' for
  // "email" (the same places as the regex "@"). A regex that matches inside
  // every digit run reports a match per digit, and the callbacks cost more
  // than the recognizers on PII-dense text; "@" as a one-byte literal was a
  // third of Vectorscan's work on it.
  bool native = false;
};

// A whole-match pattern from a user file: every match is a finding of `type`.
struct CustomPattern {
  std::string type;
  std::string regex;      // Vectorscan syntax, trailing lookahead removed
  std::string lookahead;  // the removed `(?=X)` body, checked after the match
  double confidence = 0.8;
  std::string source;  // file or "default", for error messages
  // A leading/trailing `\b`, checked after the match with Python's Unicode
  // notion of a word character (Vectorscan has no `\b` in Unicode mode).
  bool word_start = false;
  bool word_end = false;
};

struct PatternSet {
  std::vector<AnchorSpec> anchors;
  std::vector<std::string> secret_keys;
  std::vector<std::string> korean_surnames;
  std::vector<std::string> name_stop_words;
  std::vector<CustomPattern> custom;

  // Appends `other` (later files extend earlier ones).
  void merge(const PatternSet& other);
};

// The built-in set: an embedded copy of data/pii/default.json.
const PatternSet& default_patterns();
// The embedded text itself (a test checks it equals the data file).
std::string_view default_patterns_json();

// Parses either format (detected by the "format" key). `source` names the
// origin in error messages. Throws PatternError.
PatternSet parse_patterns(const boost::json::value& v, std::string_view source);
PatternSet parse_patterns_text(std::string_view text, std::string_view source);
PatternSet load_patterns_file(const std::string& path);

// Translates one Python `re` pattern to Vectorscan syntax: splits a trailing
// `(?=X)` off into `lookahead` and a leading/trailing `\b` into word_start /
// word_end, turns named groups into plain ones, and rejects other lookarounds
// and backreferences with a PatternError naming `name`.
CustomPattern translate_python_regex(std::string_view name, std::string_view regex,
                                     std::string_view source);

}  // namespace bastion::pii
