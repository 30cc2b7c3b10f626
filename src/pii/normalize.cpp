#include "pii/normalize.hpp"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uniset.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace bastion::pii {

namespace {

enum : std::uint8_t {
  kRelevant = 1,        // the view differs here, or it may combine with what precedes
  kBoundaryBefore = 2,  // NFKC never combines it with what precedes
  kIgnorable = 4,       // Default_Ignorable_Code_Point: removed
  kDash = 8,            // Dash (other than '-'): becomes '-'
  kDigit = 16,          // a decimal digit outside ASCII: becomes its ASCII digit
  kMark = 32,           // Mn or Me: removed after an ASCII character
};

constexpr char32_t kTablePlanes = 0x20000;  // planes 0 and 1 are tabulated

struct Tables {
  const icu::Normalizer2* nfkc = nullptr;
  std::vector<std::uint8_t> flags;  // by code point, below kTablePlanes
  // The view of a relevant character that NFKC maps without looking at its
  // neighbours (it has a boundary before it and yields no combining mark).
  std::unordered_map<char32_t, std::string> simple;
};

std::uint8_t classify(const icu::Normalizer2& nfkc, char32_t c) {
  std::uint8_t f = 0;
  const auto cp = static_cast<UChar32>(c);
  if (nfkc.hasBoundaryBefore(cp)) f |= kBoundaryBefore;
  if (u_hasBinaryProperty(cp, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) f |= kIgnorable;
  if (c != U'-' && u_hasBinaryProperty(cp, UCHAR_DASH)) f |= kDash;
  const auto type = u_charType(cp);
  if (c > 0x7F && type == U_DECIMAL_DIGIT_NUMBER && u_charDigitValue(cp) >= 0) f |= kDigit;
  if (type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK) f |= kMark;
  const bool stable = u_getIntPropertyValue(cp, UCHAR_NFKC_QUICK_CHECK) == UNORM_YES;
  if (!stable || !(f & kBoundaryBefore) || (f & (kIgnorable | kDash | kDigit | kMark)))
    f |= kRelevant;
  return f;
}

// One code point at s[i]: its value and length, or length 0 when the bytes
// there are not well-formed UTF-8.
struct Decoded {
  char32_t cp = 0;
  std::size_t len = 0;
};

Decoded decode(std::string_view s, std::size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  const unsigned b0 = p[i];
  if (b0 < 0x80) return {b0, 1};
  std::size_t len;
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return {};
  }
  if (i + len > n) return {};
  for (std::size_t k = 1; k < len; ++k) {
    if ((p[i + k] & 0xC0) != 0x80) return {};
    cp = (cp << 6) | (p[i + k] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return {};
  return {cp, len};
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string nfkc_utf8(const icu::Normalizer2& nfkc, std::string_view chunk) {
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(chunk.size() + 8));
  UErrorCode ec = U_ZERO_ERROR;
  nfkc.normalizeUTF8(0, icu::StringPiece(chunk.data(), static_cast<int32_t>(chunk.size())), sink,
                     nullptr, ec);
  if (U_FAILURE(ec)) return std::string(chunk);  // not expected on well-formed input
  return out;
}

const Tables& build_tables();

std::uint8_t flags_of(const Tables& t, char32_t c) {
  return c < kTablePlanes ? t.flags[c] : classify(*t.nfkc, c);
}

// Appends NFKC output `nfkc` to the view, applying the rules NFKC lacks.
void append_view(const Tables& t, std::string& view, std::string_view nfkc) {
  for (std::size_t i = 0; i < nfkc.size();) {
    Decoded d = decode(nfkc, i);
    if (d.len == 0) {  // ICU emits well-formed UTF-8; keep anything else as is
      view += nfkc[i++];
      continue;
    }
    const std::uint8_t f = flags_of(t, d.cp);
    if (f & kIgnorable) {
    } else if (f & kDash) {
      view += '-';
    } else if (f & kDigit) {
      view += static_cast<char>('0' + u_charDigitValue(static_cast<UChar32>(d.cp)));
    } else if ((f & kMark) && !view.empty() && static_cast<unsigned char>(view.back()) < 0x80) {
    } else {
      view.append(nfkc.substr(i, d.len));
    }
    i += d.len;
  }
}

// ICU's NFKC instance (ICU keeps it for the process), loaded once.
const icu::Normalizer2& nfkc_instance() {
  static const icu::Normalizer2* nfkc = [] {
    UErrorCode ec = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFKCInstance(ec);
    if (U_FAILURE(ec) || !n)
      throw std::runtime_error(std::string("pii: ICU cannot load NFKC data: ") + u_errorName(ec));
    return n;
  }();
  return *nfkc;
}

// The views of the relevant characters NFKC maps on their own (see Tables).
void add_simple(Tables& t) {
  for (char32_t c = 0x80; c < kTablePlanes; ++c) {
    const std::uint8_t f = t.flags[c];
    if (!(f & kRelevant) || !(f & kBoundaryBefore) || (c >= 0xD800 && c <= 0xDFFF)) continue;
    std::string one;
    append_utf8(one, c);
    std::string n = nfkc_utf8(*t.nfkc, one);
    bool marks = false;
    for (std::size_t i = 0; i < n.size();) {
      Decoded d = decode(n, i);
      if (d.len == 0) break;
      marks |= (flags_of(t, d.cp) & kMark) != 0;
      i += d.len;
    }
    if (marks) continue;
    std::string view;
    append_view(t, view, n);
    t.simple.emplace(c, std::move(view));
  }
}

// Calls f(first, last) for each range of `set` below kTablePlanes.
template <class F>
void for_each_range(const icu::UnicodeSet& set, F f) {
  for (int32_t i = 0; i < set.getRangeCount(); ++i) {
    const auto first = static_cast<char32_t>(set.getRangeStart(i));
    if (first >= kTablePlanes) break;
    f(first, std::min(static_cast<char32_t>(set.getRangeEnd(i)), char32_t{kTablePlanes - 1}));
  }
}

// The code points whose int property `prop` is `value` (a mask for
// UCHAR_GENERAL_CATEGORY_MASK, 1 for a binary property).
icu::UnicodeSet property_set(UProperty prop, int32_t value) {
  icu::UnicodeSet set;
  UErrorCode ec = U_ZERO_ERROR;
  set.applyIntPropertyValue(prop, value, ec);
  if (U_FAILURE(ec))
    throw std::runtime_error(std::string("pii: ICU cannot load Unicode properties: ") +
                             u_errorName(ec));
  return set;
}

void set_flag(std::vector<std::uint8_t>& flags, const icu::UnicodeSet& set, std::uint8_t flag) {
  for_each_range(set, [&](char32_t a, char32_t b) {
    for (char32_t c = a; c <= b; ++c) flags[c] |= flag;
  });
}

// classify() for every code point below kTablePlanes, from ICU's property
// sets (a range at a time) instead of one code point at a time: about a
// twentieth of the cost. Only NFKC's boundaries have no set: a character
// that is NFKC_QC=Yes with combining class 0 has one before it (ICU's NFKC
// data orders those below every other kind), every other character is asked.
std::vector<std::uint8_t> flags_by_ranges(const icu::Normalizer2& nfkc) {
  constexpr std::uint8_t kStable = 64, kStarter = 128;  // scratch bits, cleared below
  std::vector<std::uint8_t> flags(kTablePlanes, 0);
  set_flag(flags, property_set(UCHAR_NFKC_QUICK_CHECK, UNORM_YES), kStable);
  set_flag(flags, property_set(UCHAR_CANONICAL_COMBINING_CLASS, 0), kStarter);
  set_flag(flags, property_set(UCHAR_DEFAULT_IGNORABLE_CODE_POINT, 1), kIgnorable);
  set_flag(flags, property_set(UCHAR_DASH, 1), kDash);
  flags[U'-'] &= static_cast<std::uint8_t>(~kDash);
  set_flag(flags, property_set(UCHAR_GENERAL_CATEGORY_MASK, U_GC_MN_MASK | U_GC_ME_MASK), kMark);
  for_each_range(property_set(UCHAR_GENERAL_CATEGORY_MASK, U_GC_ND_MASK),
                 [&](char32_t a, char32_t b) {
                   for (char32_t c = std::max(a, char32_t{0x80}); c <= b; ++c)
                     if (u_charDigitValue(static_cast<UChar32>(c)) >= 0) flags[c] |= kDigit;
                 });
  for (char32_t c = 0; c < kTablePlanes; ++c) {
    std::uint8_t f = flags[c];
    const bool stable = f & kStable;
    if ((stable && (f & kStarter)) || nfkc.hasBoundaryBefore(static_cast<UChar32>(c)))
      f |= kBoundaryBefore;
    if (!stable || !(f & kBoundaryBefore) || (f & (kIgnorable | kDash | kDigit | kMark)))
      f |= kRelevant;
    flags[c] = f & static_cast<std::uint8_t>(~(kStable | kStarter));
  }
  return flags;
}

const Tables& build_tables() {
  static const Tables* tables = [] {
    auto* t = new Tables;
    t->nfkc = &nfkc_instance();
    t->flags = flags_by_ranges(*t->nfkc);
    add_simple(*t);
    return t;
  }();
  return *tables;
}

// The tables as they were first built: classify() for each code point.
Tables reference_tables() {
  Tables t;
  t.nfkc = &nfkc_instance();
  t.flags.resize(kTablePlanes);
  for (char32_t c = 0; c < kTablePlanes; ++c) t.flags[c] = classify(*t.nfkc, c);
  add_simple(t);
  return t;
}

bool relevant_at(const Tables& t, std::string_view s, std::size_t i) {
  Decoded d = decode(s, i);
  return d.len && (flags_of(t, d.cp) & kRelevant);
}

// A lead byte that may start a character normalization changes: any lead
// byte of a non-ASCII character except those of Hangul syllables
// (U+AC00..U+D7A3: EA B0..BF, EB, EC, ED 80..9D; ED 9E holds the block's end
// and is checked by decoding).
inline bool candidate(const unsigned char* p, std::size_t i, std::size_t n) {
  const unsigned b = p[i];
  if (b < 0xC2 || b == 0xEB || b == 0xEC) return false;
  if (b == 0xEA) return !(i + 1 < n && p[i + 1] >= 0xB0);
  if (b == 0xED) return !(i + 1 < n && p[i + 1] < 0x9E);
  return true;
}

}  // namespace

void check_normalization_data() { nfkc_instance(); }

void init_normalization() { build_tables(); }

namespace {
NormalizationTables snapshot(const Tables& t) {
  return {t.flags, {t.simple.begin(), t.simple.end()}};
}
}  // namespace

NormalizationTables normalization_tables() { return snapshot(build_tables()); }

NormalizationTables reference_normalization_tables() { return snapshot(reference_tables()); }

std::size_t first_to_normalize(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  const Tables* t = nullptr;
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i c2 = _mm_set1_epi8(static_cast<char>(0xC2));
  const __m128i eb = _mm_set1_epi8(static_cast<char>(0xEB));
  const __m128i ec = _mm_set1_epi8(static_cast<char>(0xEC));
  const __m128i ea = _mm_set1_epi8(static_cast<char>(0xEA));
  const __m128i ed = _mm_set1_epi8(static_cast<char>(0xED));
  const __m128i b0 = _mm_set1_epi8(static_cast<char>(0xB0));
  const __m128i x9e = _mm_set1_epi8(static_cast<char>(0x9E));
  // 16 bytes at a time; lane k also looks at byte k+1, so stop one early.
  while (i + 17 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    if (_mm_movemask_epi8(v) == 0) {
      i += 16;
      continue;
    }
    const __m128i nx = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
    const __m128i ge_c2 = _mm_cmpeq_epi8(_mm_max_epu8(v, c2), v);
    const __m128i hangul_mid = _mm_or_si128(_mm_cmpeq_epi8(v, eb), _mm_cmpeq_epi8(v, ec));
    const __m128i ea_syl =
        _mm_and_si128(_mm_cmpeq_epi8(v, ea), _mm_cmpeq_epi8(_mm_max_epu8(nx, b0), nx));
    const __m128i ed_syl =
        _mm_andnot_si128(_mm_cmpeq_epi8(_mm_max_epu8(nx, x9e), nx), _mm_cmpeq_epi8(v, ed));
    const __m128i skip = _mm_or_si128(hangul_mid, _mm_or_si128(ea_syl, ed_syl));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_andnot_si128(skip, ge_c2)));
    while (mask) {
      const std::size_t k = i + static_cast<std::size_t>(__builtin_ctz(mask));
      if (!t) t = &build_tables();
      if (relevant_at(*t, s, k)) return k;
      mask &= mask - 1;
    }
    i += 16;
  }
#endif
  // ASCII needs nothing: 8 bytes at a time while they are (a short text, a
  // key, is all tail).
  for (std::uint64_t w; i + 8 <= n; i += 8) {
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ULL) break;
  }
  for (; i < n; ++i) {
    if (p[i] < 0x80 || !candidate(p, i, n)) continue;
    if (!t) t = &build_tables();
    if (relevant_at(*t, s, i)) return i;
  }
  return std::string_view::npos;
}

NormalizedText::NormalizedText(std::string_view s) : original_(s) {
  const std::size_t n = s.size();
  std::size_t r = first_to_normalize(s);
  if (r == std::string_view::npos) {
    text_.assign(s);
    if (n) runs_.push_back({0, 0, n, true});
    return;
  }
  const Tables& t = build_tables();
  text_.reserve(n + n / 8 + 16);
  std::size_t pos = 0;
  while (r != std::string_view::npos) {
    const Decoded d = decode(s, r);  // well-formed: relevant_at() decoded it
    std::size_t cs = r;
    // A character that may combine with the one before it is normalized
    // together with it (that one is unchanged text, or the text's start).
    if (!(flags_of(t, d.cp) & kBoundaryBefore) && r > pos) {
      std::size_t q = r - 1;
      while (q > pos && (static_cast<unsigned char>(s[q]) & 0xC0) == 0x80 && r - q < 4) --q;
      if (decode(s, q).len == r - q) cs = q;
    }
    add_identity(pos, cs);
    std::size_t e = r + d.len;
    while (e < n) {
      const Decoded x = decode(s, e);
      if (!x.len || (flags_of(t, x.cp) & kBoundaryBefore)) break;
      e += x.len;
    }
    const std::size_t vb = text_.size();
    auto hit = (cs == r && e == r + d.len) ? t.simple.find(d.cp) : t.simple.end();
    if (hit != t.simple.end())
      text_ += hit->second;
    else
      append_view(t, text_, nfkc_utf8(*t.nfkc, s.substr(cs, e - cs)));
    add_chunk(cs, e, vb);
    pos = e;
    const std::size_t next = first_to_normalize(s.substr(pos));
    r = next == std::string_view::npos ? next : pos + next;
  }
  add_identity(pos, n);
}

void NormalizedText::add_identity(std::size_t a, std::size_t b) {
  if (b <= a) return;
  const std::size_t vb = text_.size();
  text_.append(original_.substr(a, b - a));
  if (!runs_.empty()) {
    Run& last = runs_.back();
    if (last.identity && last.orig_begin + last.orig_len == a &&
        last.view_begin + last.orig_len == vb) {
      last.orig_len += b - a;
      return;
    }
  }
  runs_.push_back({vb, a, b - a, true});
}

void NormalizedText::add_chunk(std::size_t a, std::size_t b, std::size_t vb) {
  if (text_.size() == vb) return;  // removed entirely
  runs_.push_back({vb, a, b - a, false});
}

const NormalizedText::Run& NormalizedText::run_at(std::size_t v) const {
  auto it = std::upper_bound(runs_.begin(), runs_.end(), v,
                             [](std::size_t x, const Run& r) { return x < r.view_begin; });
  return *std::prev(it);
}

std::pair<std::size_t, std::size_t> NormalizedText::original_span(std::size_t b,
                                                                  std::size_t e) const {
  if (runs_.empty() || b >= e || e > text_.size()) return {0, 0};
  const Run& first = run_at(b);
  const Run& last = run_at(e - 1);
  std::size_t ob = first.identity ? first.orig_begin + (b - first.view_begin) : first.orig_begin;
  std::size_t oe =
      last.identity ? last.orig_begin + (e - last.view_begin) : last.orig_begin + last.orig_len;
  return {ob, oe};
}

std::string normalize_for_detection(std::string_view text) {
  return std::string(NormalizedText(text).text());
}

}  // namespace bastion::pii
