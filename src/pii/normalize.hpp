// The normalized view the PII recognizers read, so that look-alike spellings
// of a value are found as the value itself: NFKC (full-width digits and `＠`,
// circled and mathematical digits, compatibility spaces), default-ignorable
// code points removed (zero-width space and joiners, soft hyphen, bidi
// controls, Unicode tags, variation selectors, Hangul fillers), every Dash
// character (en dash, minus sign, full-width hyphen, ...) turned into '-',
// decimal digits of every script turned into ASCII digits, and combining
// marks that follow an ASCII character dropped ("0̲1̲0̲" reads "010").
//
// The view keeps a map back to the original bytes: a finding in the view is
// reported, masked and encrypted over the original span that produced it.
// Normalization runs chunk by chunk (a chunk ends where ICU's NFKC has a
// boundary), so each view byte maps to the original chunk it came from, and
// unchanged text maps byte for byte.
//
// Text that normalization would not change (ASCII, Hangul syllables and every
// other character that is NFKC-stable, visible and not a dash or a foreign
// digit) takes a fast path: needs_normalization() is a vectorised pass over
// the bytes that only decodes characters outside ASCII and the Hangul
// syllable block.
//
// ICU (libicu, Debian's libicu-dev) provides NFKC and the Unicode properties;
// its data is loaded once per process, on first use.
//
// Thread-safety: everything here is safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bastion::pii {

// Position of the first character that normalization would change (or that
// may combine with the one before it), or npos when the view equals `text`.
// Invalid UTF-8 bytes are kept as they are and never need normalization.
std::size_t first_to_normalize(std::string_view text);
inline bool needs_normalization(std::string_view text) {
  return first_to_normalize(text) != std::string_view::npos;
}

class NormalizedText {
 public:
  // Builds the view. Never throws on any input (bad_alloc aside).
  explicit NormalizedText(std::string_view original);

  std::string_view text() const { return text_; }
  std::string_view original() const { return original_; }

  // The original byte span [begin, end) that view bytes [b, e) came from
  // (b < e <= text().size()). A span that starts or ends inside a chunk
  // widens to the whole chunk.
  std::pair<std::size_t, std::size_t> original_span(std::size_t b, std::size_t e) const;

 private:
  // A run of view bytes and the original bytes it came from. Identity runs
  // map byte for byte; other runs (one normalized chunk) map as a whole.
  struct Run {
    std::size_t view_begin;
    std::size_t orig_begin;
    std::size_t orig_len;
    bool identity;
  };
  const Run& run_at(std::size_t view_pos) const;
  void add_identity(std::size_t orig_begin, std::size_t orig_end);
  void add_chunk(std::size_t orig_begin, std::size_t orig_end, std::size_t view_begin);

  std::string_view original_;
  std::string text_;
  std::vector<Run> runs_;  // by view_begin; empty chunks (removed characters) are not kept
};

// The view alone (tests, the evaluation corpus).
std::string normalize_for_detection(std::string_view text);

// Loads ICU's NFKC data now, so that a missing ICU data file fails at
// startup rather than in a scan (the scanner's constructor calls it; a few
// hundred microseconds). Throws std::runtime_error when ICU cannot load it.
void check_normalization_data();

// check_normalization_data(), then builds the property tables the first
// non-ASCII, non-Hangul character would otherwise build (~2 ms: ICU's
// property sets for planes 0 and 1, then NFKC of the ~4,850 characters it
// maps on their own). `bastion serve` calls it at start so
// no request pays for it; a one-shot command (`pii scan` on ASCII or Korean
// text) never needs them. Throws std::runtime_error like the above.
void init_normalization();

// For tests: the per-code-point tables behind the view, for planes 0 and 1
// (flags by code point; the view of each character NFKC maps on its own).
struct NormalizationTables {
  std::vector<std::uint8_t> flags;
  std::map<char32_t, std::string> simple;
};
// The tables in use (built from ICU's property sets, a range at a time).
NormalizationTables normalization_tables();
// The same built the straightforward way, one code point at a time through
// ICU's per-character calls: what normalization_tables() must equal.
NormalizationTables reference_normalization_tables();

}  // namespace bastion::pii
