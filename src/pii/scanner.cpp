// The PII scanner: compiles the anchors into one Vectorscan database, then
// expands each anchor hit with its recognizer (email, IBAN, numbers, IPv6,
// Korean names, secrets) and resolves overlaps.
// Over 500 lines for a reason: the recognizers are callbacks over one scan
// context in the match loop, kept in one translation unit with it so they
// inline there; split them only with bench/run's PII figures to compare.
#include "pii/scanner.hpp"

#include <fmt/format.h>
#include <hs/hs.h>

#include <algorithm>
#include <atomic>
#include <boost/beast/core/string.hpp>
#include <climits>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <tuple>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "pii/db_cache.hpp"
#include "pii/normalize.hpp"
#include "pii/validators.hpp"

namespace bastion::pii {

using boost::beast::iequals;  // ASCII, as the names compared are

namespace {

enum class V : std::uint8_t {
  kEmail,
  kNumber,
  kIpv6,
  kIban,
  kKoreanName,
  kAwsAccessKey,
  kSecret,
  kBearer,
  kJwt,
  kPrivateKey,
  kGithub,
  kSlack,
  kCustom,
};

struct ValidatorName {
  std::string_view name;
  V v;
  bool needs_start;  // the handler needs the anchor's start offset
};
constexpr ValidatorName kValidators[] = {
    {"email", V::kEmail, false},
    {"number", V::kNumber, false},
    {"ipv6", V::kIpv6, false},
    {"iban", V::kIban, true},
    {"korean_name", V::kKoreanName, true},
    {"aws_access_key", V::kAwsAccessKey, true},
    {"secret_assignment", V::kSecret, true},
    {"bearer", V::kBearer, true},
    {"jwt", V::kJwt, true},
    {"private_key", V::kPrivateKey, true},
    {"github_token", V::kGithub, true},
    {"slack_token", V::kSlack, true},
};

// What a Vectorscan pattern id stands for.
struct PatternInfo {
  V v;
  int width = -1;     // fixed match width in bytes, -1 when variable
  int custom = -1;    // index into PatternSet::custom
  std::string label;  // for compile errors
};

// Characters.
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || is_upper(c); }
inline bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
inline bool is_word(char c) { return is_alnum(c) || c == '_'; }
inline bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
inline bool is_b64url(char c) { return is_alnum(c) || c == '-' || c == '_'; }
inline bool is_local(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
inline bool is_domain(char c) { return is_alnum(c) || c == '.' || c == '-'; }
inline bool is_num_sep(char c) { return c == '-' || c == ' ' || c == '.'; }

// check::ipv4_valid's octet and check::ssn_valid on digits already known to
// be digits (the number path has them in hand, in the text or packed): an
// octet of `len` digits at `q` is 0..255 without a leading zero; an SSN's
// area (3 digits) is not 000, 666 or 9xx, its group (2) not 00, its serial
// (4) not 0000.
inline bool octet_ok(const char* q, int len) {
  if (len > 3 || (len > 1 && q[0] == '0')) return false;
  int v = 0;
  for (int x = 0; x < len; ++x) v = v * 10 + (q[x] - '0');
  return v <= 255;
}
inline bool ssn_digits_ok(const char* area, const char* group, const char* serial) {
  const int a = (area[0] - '0') * 100 + (area[1] - '0') * 10 + (area[2] - '0');
  return a != 0 && a != 666 && a < 900 && !(group[0] == '0' && group[1] == '0') &&
         !(serial[0] == '0' && serial[1] == '0' && serial[2] == '0' && serial[3] == '0');
}

#if defined(__SSE2__)
// Bit k set when p[k] is an ASCII digit, for 16 bytes.
inline unsigned digit_mask16(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // One signed compare for the range: adding 0x50 moves '0'..'9' to the ten
  // lowest signed bytes (-128..-119) and every other byte above them.
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmplt_epi8(
      _mm_add_epi8(v, _mm_set1_epi8(static_cast<char>(0x80 - '0'))), _mm_set1_epi8(-128 + 10))));
}
// Bit k set when p[k] is ':' (when `colons`) or '@' (when `ats`), for 16
// bytes: the native anchors' bytes other than digits, one mask for both.
inline unsigned punct_mask16(const char* p, bool colons, bool ats) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i c = _mm_cmpeq_epi8(v, _mm_set1_epi8(':')),
                a = _mm_cmpeq_epi8(v, _mm_set1_epi8('@'));
  const __m128i m = colons && ats ? _mm_or_si128(c, a) : colons ? c : a;
  return static_cast<unsigned>(_mm_movemask_epi8(m));
}
#endif

// The first non-digit at or after i, or i + cap, or n (whichever is first).
inline std::size_t digit_run_end(const char* p, std::size_t i, std::size_t n, std::size_t cap) {
  const std::size_t lim = std::min(n, i + cap);
#if defined(__SSE2__)
  while (i + 16 <= n && i < lim) {
    const unsigned other = ~digit_mask16(p + i) & 0xFFFFu;
    if (other) return std::min(lim, i + static_cast<std::size_t>(__builtin_ctz(other)));
    i += 16;
  }
#endif
  while (i < lim && is_digit(p[i])) ++i;
  return std::min(i, lim);
}

// A Hangul syllable (U+AC00..U+D7A3) encoded at p[0..2].
inline bool hangul_syllable(const char* p) {
  auto b0 = static_cast<unsigned char>(p[0]), b1 = static_cast<unsigned char>(p[1]),
       b2 = static_cast<unsigned char>(p[2]);
  if (b0 < 0xEA || b0 > 0xED || (b1 & 0xC0) != 0x80 || (b2 & 0xC0) != 0x80) return false;
  unsigned cp = ((b0 & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu);
  return cp >= 0xAC00 && cp <= 0xD7A3;
}

inline unsigned hangul_index(const char* p) {
  auto b0 = static_cast<unsigned char>(p[0]), b1 = static_cast<unsigned char>(p[1]),
       b2 = static_cast<unsigned char>(p[2]);
  return (((b0 & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (b2 & 0x3Fu)) - 0xAC00;
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = s.size(), i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    int len;
    unsigned cp;
    if ((p[i] & 0xE0) == 0xC0) {
      len = 2;
      cp = p[i] & 0x1F;
    } else if ((p[i] & 0xF0) == 0xE0) {
      len = 3;
      cp = p[i] & 0x0F;
    } else if ((p[i] & 0xF8) == 0xF0) {
      len = 4;
      cp = p[i] & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

bool has_non_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

std::string escape_literal(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (!is_alnum(c) && static_cast<unsigned char>(c) < 0x80) out += '\\';
    out += c;
  }
  return out;
}

// A short string's hash from its length and its first and last eight bytes
// (all of them when fewer): two loads and two multiplies, whatever its length.
std::uint64_t edge_hash(std::string_view w) {
  std::uint64_t a = 0, b = 0;
  if (w.size() >= 8) {
    std::memcpy(&a, w.data(), 8);
    std::memcpy(&b, w.data() + w.size() - 8, 8);
  } else {
    for (std::size_t i = 0; i < w.size(); ++i) a = (a << 8) | static_cast<unsigned char>(w[i]);
  }
  std::uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ULL) ^ w.size()) * 0xD6E8FEB86659FD93ULL;
  return h ^ (h >> 32);
}

// A set of short strings (the name stop words) for the Korean-name hot path:
// an open-addressed table hashed on the length and the first and last eight
// bytes, so a lookup is two loads, a multiply and at most a compare or two
// (std::unordered_set hashed every byte with _Hash_bytes and took ~6% of a
// scan of Korean records). Immutable after assign(); views into the words
// it was given, which must outlive it.
class WordSet {
  // Words of 8 to 16 bytes (Hangul words of three to five syllables) as two
  // overlapping 8-byte compares in place of a memcmp call.
  static bool same_bytes(const char* a, const char* b, std::size_t n) {
    if (n < 8 || n > 16) return std::memcmp(a, b, n) == 0;
    std::uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&b0, b, 8);
    std::memcpy(&a1, a + n - 8, 8);
    std::memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }

 public:
  void assign(const std::vector<std::string>& words) {
    std::size_t cap = 16;
    while (cap < 2 * words.size()) cap *= 2;
    slots_.assign(cap, {});
    mask_ = cap - 1;
    for (const auto& w : words) {
      if (contains(w)) continue;
      std::size_t i = edge_hash(w) & mask_;
      while (!slots_[i].empty()) i = (i + 1) & mask_;
      slots_[i] = w;
    }
  }
  // An empty string is never a member (empty slots mark free ones).
  bool contains(std::string_view w) const {
    if (slots_.empty() || w.empty()) return false;
    for (std::size_t i = edge_hash(w) & mask_;; i = (i + 1) & mask_) {
      const std::string_view x = slots_[i];
      if (x.empty()) return false;
      if (x.size() == w.size() && same_bytes(x.data(), w.data(), w.size())) return true;
    }
  }

 private:
  std::vector<std::string_view> slots_;
  std::size_t mask_ = 0;
};

struct DbDeleter {
  void operator()(hs_database_t* d) const { hs_free_database(d); }
};
using DbPtr = std::unique_ptr<hs_database_t, DbDeleter>;

std::atomic<std::uint64_t> g_next_serial{1};

}  // namespace

std::ostream& operator<<(std::ostream& os, const NormalizedValue& v) {
  return os << std::string_view(v);
}

std::string_view intern_name(std::string_view name) {
  static std::mutex mu;
  static auto* names = new std::set<std::string, std::less<>>;  // never freed: views outlive all
  std::lock_guard lk(mu);
  auto it = names->find(name);
  if (it == names->end()) it = names->emplace(name).first;
  return *it;
}

int type_priority(std::string_view t) {
  static constexpr std::pair<std::string_view, int> kTable[] = {
      {pii::kOverflow, 1000},   {pii::kPrivateKey, 100},  {pii::kJwt, 90},
      {pii::kAwsAccessKey, 88}, {pii::kAwsSecretKey, 87}, {pii::kGithubToken, 86},
      {pii::kSlackToken, 85},   {pii::kBearerToken, 80},  {pii::kSecret, 70},
      {pii::kRrn, 60},          {pii::kIban, 58},         {pii::kCreditCard, 55},
      {pii::kSsn, 50},          {pii::kEmail, 45},        {pii::kPhone, 40},
      {pii::kIpv6, 35},         {pii::kIpv4, 30},         {pii::kKoreanName, 20},
  };
  for (const auto& [name, p] : kTable)
    if (name == t) return p;
  return 10;  // custom patterns
}


namespace {

// The greedy choice of resolve_overlaps() within one group of findings:
// by priority, then length, then position.
template <class F>
void resolve_group(std::vector<F>& f, std::size_t from, std::size_t to, std::vector<F>& out) {
  std::vector<std::size_t> order(to - from);
  std::vector<int> prio(to - from);
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
    prio[i] = type_priority(f[from + i].type);
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (prio[a] != prio[b]) return prio[a] > prio[b];
    const F &x = f[from + a], &y = f[from + b];
    std::size_t la = x.end - x.begin, lb = y.end - y.begin;
    if (la != lb) return la > lb;
    return x.begin < y.begin;
  });
  std::map<std::size_t, std::size_t> taken;  // begin -> end, disjoint
  const std::size_t first = out.size();
  for (std::size_t i : order) {
    F& x = f[from + i];
    if (x.begin < x.end) {
      auto it = taken.upper_bound(x.begin);
      if (it != taken.end() && it->first < x.end) continue;
      if (it != taken.begin() && std::prev(it)->second > x.begin) continue;
      // Also reject an identical begin already taken (upper_bound skipped it).
      if (taken.contains(x.begin)) continue;
      taken.emplace(x.begin, x.end);
    }
    out.push_back(std::move(x));
  }
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
            [](const F& a, const F& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
}

// Scans emit findings nearly in order: sort only when needed, then cut the
// list into groups of findings that overlap one another (directly or
// through others). Groups do not interact, so the greedy choice runs per
// group, and a lone finding (the usual case) costs nothing. When nothing
// overlaps, `f` comes back as it is.
template <class F>
std::vector<F> resolve(std::vector<F> f) {
  if (f.size() < 2) return f;
  auto by_position = [](const F& a, const F& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  };
  if (!std::is_sorted(f.begin(), f.end(), by_position))
    std::stable_sort(f.begin(), f.end(), by_position);
  auto overlaps = [&](std::size_t j, std::size_t reach) {
    // Empty spans (an overflow marker) group with a finding at the same begin.
    return f[j].begin < reach || f[j].begin == f[j - 1].begin;
  };
  bool any = false;
  for (std::size_t j = 1, reach = f[0].end; j < f.size() && !any; ++j) {
    any = overlaps(j, reach);
    reach = std::max(reach, f[j].end);
  }
  if (!any) return f;
  // Compacted in place (the kept findings of a group never outnumber it, so
  // writing never overtakes reading): a second vector of every finding of a
  // large text cost more than the choice itself.
  std::vector<F> group, picked;
  std::size_t i = 0, w = 0;
  while (i < f.size()) {
    std::size_t j = i + 1, reach = f[i].end;
    while (j < f.size() && overlaps(j, reach)) {
      reach = std::max(reach, f[j].end);
      ++j;
    }
    if (j == i + 1) {
      if (w != i) f[w] = std::move(f[i]);
      ++w;
    } else {
      group.assign(std::make_move_iterator(f.begin() + static_cast<std::ptrdiff_t>(i)),
                   std::make_move_iterator(f.begin() + static_cast<std::ptrdiff_t>(j)));
      picked.clear();
      resolve_group(group, 0, group.size(), picked);
      for (F& x : picked) f[w++] = std::move(x);
    }
    i = j;
  }
  f.erase(f.begin() + static_cast<std::ptrdiff_t>(w), f.end());
  return f;
}

}  // namespace

std::vector<Finding> resolve_overlaps(std::vector<Finding> f) { return resolve(std::move(f)); }

namespace {
struct Expr {
  std::string regex;
  unsigned flags;
  unsigned id;
};

// The bit of Core::secret_key_lengths for a name of n bytes.
inline unsigned length_bit(std::size_t n) { return n < 63 ? static_cast<unsigned>(n) : 63; }

struct Core {
  PatternSet set;
  ScannerLimits limits;
  std::uint64_t serial = g_next_serial.fetch_add(1);
  DbPtr db;        // every anchor and custom pattern
  DbPtr db_ascii;  // the same without UTF-8 custom patterns (used on invalid UTF-8 input)
  DbPtr tails;     // `^(?:X)` per custom pattern with a trailing lookahead, id = custom index
  std::vector<PatternInfo> info;  // by pattern id
  std::vector<bool> custom_utf8;  // by custom index
  // One-syllable surnames as a bitset over U+AC00..U+D7A3; two-syllable ones
  // and stop words as views into `set` (immutable, so the views stay valid).
  std::vector<bool> surname1;
  std::vector<std::string_view> surnames2;
  std::vector<bool> surname2_first;  // first syllables of `surnames2`, same indexing
  WordSet stop_words;
  bool has_utf8 = false;
  // Bit min(n, 63) set when a secret key name has n bytes (PiiScanner::secret_key).
  std::uint64_t secret_key_lengths = 0;
  std::vector<std::string_view> custom_names;  // interned, by custom index
  bool native_number = false;                  // AnchorSpec::native
  bool native_ipv6 = false;
  bool native_email = false;
  std::filesystem::path cache_dir;  // empty: no database cache
  bool from_cache = false;
  // How far before the place a recognizer looks at its findings may start
  // (PiiScanner::scan_each); SIZE_MAX: no bound.
  std::size_t stream_lookback = SIZE_MAX;

  void compile();
  std::string cache_key(std::initializer_list<const std::vector<Expr>*> dbs,
                        const std::vector<bool>& needs_start);
  bool load_cached(const std::string& key, const bool (&want)[3]);
  void store_cached(const std::string& key);
};

DbPtr build_db(const std::vector<Expr>& ex, const std::vector<PatternInfo>& info) {
  if (ex.empty()) return nullptr;
  std::vector<const char*> e;
  std::vector<unsigned> f, ids;
  for (const auto& x : ex) {
    e.push_back(x.regex.c_str());
    f.push_back(x.flags);
    ids.push_back(x.id);
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(e.data(), f.data(), ids.data(), static_cast<unsigned>(e.size()),
                       HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    std::string msg = err && err->message ? err->message : "unknown error";
    std::string label = "pattern set";
    if (err && err->expression >= 0 && static_cast<std::size_t>(err->expression) < ex.size())
      label = info[ex[err->expression].id].label;
    hs_free_compile_error(err);
    throw PatternError(fmt::format("pii {}: does not compile: {}", label, msg));
  }
  return DbPtr(db);
}

// Fixed width in bytes of a pattern, or -1.
int fixed_width(const std::string& regex, unsigned flags, const std::string& label) {
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_expression_info(regex.c_str(), flags, &info, &err) != HS_SUCCESS) {
    std::string msg = err && err->message ? err->message : "unknown error";
    hs_free_compile_error(err);
    throw PatternError(fmt::format("pii {}: does not compile: {}", label, msg));
  }
  int w = (info->min_width == info->max_width && info->max_width != UINT_MAX)
              ? static_cast<int>(info->max_width)
              : -1;
  std::free(info);
  return w;
}

}  // namespace

// What the compiled databases depend on: the expressions with their flags
// and ids (per database), the Vectorscan version and the platform it tunes
// for. Empty when the platform cannot be read (then nothing is cached).
std::string Core::cache_key(std::initializer_list<const std::vector<Expr>*> dbs,
                            const std::vector<bool>& needs_start) {
  hs_platform_info_t plat{};
  if (hs_populate_platform(&plat) != HS_SUCCESS) return {};
  // /2: the flags are those before the widths are known (a pattern that
  // needs its start and has no fixed width gets HS_FLAG_SOM_LEFTMOST), and
  // the widths are stored beside the databases.
  std::string m = "bastion-pii-hsdb/2";
  auto put = [&m](std::string_view v) {
    m += std::to_string(v.size());
    m += ':';
    m += v;
  };
  put(hs_version());
  put(fmt::format("{}/{}/{}/{}", plat.tune, plat.cpu_features, sizeof(void*), HS_MODE_BLOCK));
  for (const auto* ex : dbs) {
    if (!ex) {
      put("none");
      continue;
    }
    put(std::to_string(ex->size()));
    for (const auto& x : *ex) {
      put(x.regex);
      put(fmt::format("{}/{}", x.flags, x.id));
    }
  }
  std::string starts;
  for (bool b : needs_start) starts += b ? '1' : '0';
  put(starts);
  return sha256_raw(m);
}

namespace {

// The patterns' fixed widths as stored in the cache: 4 bytes each, little
// endian, -1 for a variable width.
constexpr int kMaxWidth = 1 << 20;

std::string widths_blob(const std::vector<PatternInfo>& info) {
  std::string b;
  for (const auto& pi : info) {
    const auto w = static_cast<std::uint32_t>(pi.width);
    for (int k = 0; k < 4; ++k) b += static_cast<char>((w >> (8 * k)) & 0xFF);
  }
  return b;
}

// Sets each pattern's width from `b`; false (nothing set) when `b` is not
// one plausible width per pattern.
bool read_widths(std::string_view b, std::vector<PatternInfo>& info) {
  if (b.size() != 4 * info.size()) return false;
  std::vector<int> w(info.size());
  for (std::size_t i = 0; i < info.size(); ++i) {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v |= std::uint32_t{static_cast<unsigned char>(b[4 * i + k])} << (8 * k);
    w[i] = static_cast<int>(v);
    if (w[i] < -1 || w[i] > kMaxWidth) return false;
  }
  for (std::size_t i = 0; i < info.size(); ++i) info[i].width = w[i];
  return true;
}

}  // namespace

bool Core::load_cached(const std::string& key, const bool (&want)[3]) {
  auto blobs = load_db_cache(cache_dir, key);
  if (!blobs || blobs->size() != 4) return false;
  DbPtr got[3];
  for (int i = 0; i < 3; ++i) {
    const std::string& b = (*blobs)[i];
    // A database exactly where this pattern set has one.
    if (b.empty() != !want[i]) return false;
    if (b.empty()) continue;
    got[i].reset(deserialize_database(b));
    if (!got[i]) return false;
  }
  if (!read_widths((*blobs)[3], info)) return false;
  db = std::move(got[0]);
  db_ascii = std::move(got[1]);
  tails = std::move(got[2]);
  return true;
}

void Core::store_cached(const std::string& key) {
  std::vector<std::string> blobs;
  for (const DbPtr* d : {&db, &db_ascii, &tails}) {
    std::string& b = blobs.emplace_back();
    if (!*d) continue;
    auto bytes = serialize_database(d->get());
    if (!bytes) return;
    b = std::move(*bytes);
  }
  blobs.push_back(widths_blob(info));
  store_db_cache(cache_dir, key, blobs);
}

void Core::compile() {
  std::vector<Expr> all, ascii, tail_ex;
  std::vector<bool> needs_start_of;  // by pattern id
  auto add = [&](PatternInfo pi, std::string regex, unsigned flags, bool needs_start, bool utf8) {
    unsigned id = static_cast<unsigned>(info.size());
    info.push_back(std::move(pi));
    needs_start_of.push_back(needs_start);
    all.push_back({regex, flags, id});
    if (!utf8) ascii.push_back({std::move(regex), flags, id});
  };
  for (std::size_t i = 0; i < set.anchors.size(); ++i) {
    const AnchorSpec& a = set.anchors[i];
    const ValidatorName* vn = nullptr;
    for (const auto& c : kValidators)
      if (c.name == a.validator) vn = &c;
    if (!vn)
      throw PatternError(
          fmt::format("pii anchor #{} ('{}'): unknown validator '{}'", i, a.regex, a.validator));
    if (a.native) {
      if (vn->v == V::kNumber)
        native_number = true;
      else if (vn->v == V::kIpv6)
        native_ipv6 = true;
      else if (vn->v == V::kEmail)
        native_email = true;
      else
        throw PatternError(
            fmt::format("pii anchor #{}: only number, ipv6 and email anchors are native", i));
      continue;
    }
    unsigned flags = a.caseless ? HS_FLAG_CASELESS : 0;
    add({vn->v, -1, -1, fmt::format("anchor #{} ({})", i, a.validator)}, a.regex, flags,
        vn->needs_start, false);
  }
  for (const auto& k : set.secret_keys) {
    secret_key_lengths |= std::uint64_t{1} << length_bit(k.size());
    if (k.empty()) continue;
    add({V::kSecret, -1, -1, fmt::format("secret key '{}'", k)}, escape_literal(k),
        HS_FLAG_CASELESS, true, false);
  }
  custom_utf8.assign(set.custom.size(), false);
  for (const auto& cp : set.custom) custom_names.push_back(intern_name(cp.type));
  for (std::size_t i = 0; i < set.custom.size(); ++i) {
    const CustomPattern& c = set.custom[i];
    bool utf8 = has_non_ascii(c.regex) || has_non_ascii(c.lookahead);
    custom_utf8[i] = utf8;
    unsigned flags = utf8 ? (HS_FLAG_UTF8 | HS_FLAG_UCP) : 0;
    std::string label = fmt::format("pattern '{}' ({})", c.type, c.source);
    add({V::kCustom, -1, static_cast<int>(i), label}, c.regex, flags, true, utf8);
    if (!c.lookahead.empty()) {
      tail_ex.push_back(
          {"^(?:" + c.lookahead + ")", flags | HS_FLAG_ALLOWEMPTY, static_cast<unsigned>(i)});
    }
  }
  if (all.empty() && !native_number && !native_ipv6 && !native_email)
    throw PatternError("pii patterns: nothing to scan for");
  const bool want_ascii = ascii.size() != all.size() && !ascii.empty();
  std::string key;
  if (!cache_dir.empty()) {
    key = cache_key({&all, want_ascii ? &ascii : nullptr, &tail_ex}, needs_start_of);
    const bool want[3] = {!all.empty(), want_ascii, !tail_ex.empty()};
    from_cache = !key.empty() && load_cached(key, want);
  }
  if (!from_cache) {
    // Each pattern's fixed width (parsing it again: with the cache, most of
    // a short `pii scan`'s start went here, so the widths are cached too).
    // A pattern whose match must say where it starts and has no fixed width
    // asks Vectorscan for the start.
    for (const auto& x : all) info[x.id].width = fixed_width(x.regex, x.flags, info[x.id].label);
    for (auto* v : {&all, &ascii})
      for (auto& x : *v)
        if (needs_start_of[x.id] && info[x.id].width < 0) x.flags |= HS_FLAG_SOM_LEFTMOST;
    db = build_db(all, info);
    if (want_ascii) db_ascii = build_db(ascii, info);
    if (!tail_ex.empty()) {
      std::vector<PatternInfo> tinfo(set.custom.size());
      for (std::size_t i = 0; i < set.custom.size(); ++i)
        tinfo[i].label = fmt::format("lookahead of pattern '{}'", set.custom[i].type);
      tails = build_db(tail_ex, tinfo);
    }
    if (!key.empty()) store_cached(key);
  }
  has_utf8 = std::find(custom_utf8.begin(), custom_utf8.end(), true) != custom_utf8.end();
  surname1.assign(0xD7A4 - 0xAC00, false);
  for (const auto& s : set.korean_surnames) {
    if (s.size() == 3 && hangul_syllable(s.data()))
      surname1[hangul_index(s.data())] = true;
    else if (s.size() == 6 && hangul_syllable(s.data()) && hangul_syllable(s.data() + 3))
      surnames2.push_back(s);
    else
      throw PatternError(
          fmt::format("pii korean_surnames: '{}' is not one or two Hangul syllables", s));
  }
  surname2_first.assign(0xD7A4 - 0xAC00, false);
  for (auto s2 : surnames2) surname2_first[hangul_index(s2.data())] = true;
  stop_words.assign(set.name_stop_words);
  // A custom pattern's match may start anywhere before its end (and its
  // findings are made after the rest), and so may an anchor's without a
  // fixed width (Vectorscan's start of match); a fixed-width anchor's starts
  // its width before the place where it matched.
  stream_lookback = set.custom.empty() ? PiiScanner::kStreamLookback : SIZE_MAX;
  for (const PatternInfo& pi : info)
    if (stream_lookback != SIZE_MAX)
      stream_lookback = pi.width < 0
                            ? SIZE_MAX
                            : std::max(stream_lookback, PiiScanner::kStreamLookback +
                                                            static_cast<std::size_t>(pi.width));
}

namespace {

// Per-thread scratch, grown to fit every scanner this thread has used.
struct ThreadScratch {
  hs_scratch_t* s = nullptr;
  std::vector<std::uint64_t> ready;
  ~ThreadScratch() {
    if (s) hs_free_scratch(s);
  }
};
thread_local ThreadScratch tls_scratch;

// Keys this thread found clean (PiiScanner::scan_key), direct-mapped by a
// hash of their bytes: a key that meets another in its slot is only scanned
// again. Zeroed at thread start: serial 0 is no scanner's (they start at 1).
struct KeyCache {
  struct Slot {
    std::uint64_t serial;  // the scanner's Core::serial; 0: empty
    std::uint8_t len;
    char bytes[PiiScanner::kKeyCacheLen];
  };
  static constexpr std::size_t kSlots = 128;
  Slot slots[kSlots];

  static std::size_t slot_of(std::string_view k) {
    return static_cast<std::size_t>(edge_hash(k) % kSlots);
  }
  bool clean(std::uint64_t serial, std::string_view k) const {
    const Slot& s = slots[slot_of(k)];
    return s.serial == serial && s.len == k.size() && std::memcmp(s.bytes, k.data(), k.size()) == 0;
  }
  void remember(std::uint64_t serial, std::string_view k) {
    Slot& s = slots[slot_of(k)];
    s.serial = serial;
    s.len = static_cast<std::uint8_t>(k.size());
    std::memcpy(s.bytes, k.data(), k.size());
  }
};
thread_local KeyCache tls_keys;

struct CustomCand {
  std::uint32_t idx;
  std::size_t from, to;
};

// A finding over the normalized view, over the original text instead: the
// original bytes that produced it, and its value as the view read it when
// those bytes differ.
void to_original(const NormalizedText& view, std::string_view text, Finding& f) {
  const std::size_t vb = f.begin, ve = f.end;
  if (vb < ve) {
    std::tie(f.begin, f.end) = view.original_span(vb, ve);
    std::string_view seen = view.text().substr(vb, ve - vb);
    if (text.substr(f.begin, f.end - f.begin) != seen) f.normalized.assign(seen);
  } else {  // an empty span (overflow): where it would start in the original
    f.begin = f.end = vb < view.text().size() ? view.original_span(vb, vb + 1).first : text.size();
  }
}

}  // namespace

// scan_each()'s side of a scan: the findings no later one can change,
// resolved as scan() resolves them, over the original text, to the sink.
struct FindingStream {
  const PiiScanner::FindingSink& sink;
  const NormalizedText* view;  // null: the text is its own view
  std::string_view text;       // the original
  std::size_t lookback;        // Core::stream_lookback
  std::size_t hold;            // findings held before looking for ones to hand on
  std::vector<Finding> batch;

  // Hands on the findings of `held` (the scan's, unresolved, in the order
  // they came) that no finding still to come can sort before or overlap,
  // when every one still to come begins at or after `upto`: the leading
  // groups of findings that overlap one another, as resolve() forms them
  // after sorting by position, that begin and end at or before `upto`. Such
  // a group is resolved alone by resolve() too (nothing joins it), and
  // what it keeps comes first. `apart`: the findings so far came in order
  // and apart (ScanCtx::apart), so sorting and resolving leave them as they
  // are. The rest stay in `held`, sorted.
  void release(std::vector<Finding>& held, std::size_t upto, bool apart) {
    auto by_position = [](const Finding& a, const Finding& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    };
    std::size_t cut = 0;
    if (apart) {
      while (cut < held.size() && held[cut].end <= upto && held[cut].begin < upto) ++cut;
    } else {
      // Stable, as resolve() sorts: of two findings with the same span the
      // earlier stays first (those held came before any still to come).
      if (!std::is_sorted(held.begin(), held.end(), by_position))
        std::stable_sort(held.begin(), held.end(), by_position);
      std::size_t reach = 0;  // the furthest end of the findings before j
      for (std::size_t j = 0; j <= held.size(); ++j) {
        const bool starts = j == 0 || j == held.size() ||
                            (held[j].begin >= reach && held[j].begin != held[j - 1].begin);
        if (starts) {
          if (reach > upto || (j > 0 && held[j - 1].begin >= upto)) break;
          cut = j;
          if (j == held.size() || held[j].begin >= upto) break;
        }
        reach = std::max(reach, held[j].end);
      }
    }
    if (cut == 0) return;
    const auto end = held.begin() + static_cast<std::ptrdiff_t>(cut);
    std::span<Finding> out;
    if (apart) {
      out = std::span<Finding>(held.data(), cut);
    } else {
      batch.assign(std::make_move_iterator(held.begin()), std::make_move_iterator(end));
      batch = resolve(std::move(batch));
      out = batch;
    }
    if (view)
      for (Finding& f : out) to_original(*view, text, f);
    sink(out);
    held.erase(held.begin(), end);
    batch.clear();
  }
};

namespace {

struct ScanCtx {
  const Core* im;
  const std::vector<PatternInfo>* info;
  const char* p;
  std::size_t n;
  std::vector<Finding>* out;
  std::vector<CustomCand> custom;
  // Whether the findings so far come in order and apart (each begin after
  // the previous one and at or past every end before it): then they are the
  // scan's result as they stand, and resolve() has nothing to do.
  bool apart = true;
  std::size_t reach = 0;
  std::size_t last_begin = SIZE_MAX;  // of the last finding stored
  std::size_t number_until = 0, ipv6_until = 0, iban_until = 0, jwt_until = 0, pem_until = 0,
              secret_vb = SIZE_MAX;
  bool overflow = false;
  std::size_t overflow_at = 0;
  std::size_t cap = SIZE_MAX;       // findings `out` may take: the limit less those handed on
  std::size_t last_end = 0;         // of the last finding stored
  FindingStream* stream = nullptr;  // scan_each()'s, else null
  std::size_t flush_at = SIZE_MAX;  // hand findings on when `out` holds this many
  std::size_t first_reserve = SIZE_MAX;
  std::size_t native_pos = 0;  // the native anchors have been looked for up to here
  // The 64 bytes from blk_base as native_scan last classified them: bit k of
  // blk_digits set when p[blk_base + k] is a digit, of blk_events when a
  // digit run starts there (or, for IPv6, a colon is there). SIZE_MAX: none.
  std::size_t blk_base = SIZE_MAX;
  std::uint64_t blk_digits = 0, blk_events = 0;

  // Returns false when the finding cap is reached (the scan must stop).
  [[gnu::always_inline]] bool emit(std::string_view type, std::size_t b, std::size_t e, double conf,
                                   std::string_view detail) {
    if (conf < im->limits.min_confidence) return true;
    if (out->size() >= cap) {
      overflow = true;
      overflow_at = b;
      return false;
    }
    add(type, detail, b, e, conf);
    return true;
  }
  // push() for a finding with no normalized form, from its fields: the
  // Finding is made where it is stored, not in every recognizer's frame
  // and passed by reference (~15 instructions a finding, of ~45). The
  // vector's growth is out of line (make_room), so that with room, as
  // nearly always, this saves no register and builds no copy on the stack
  // (with the growth inline it did both: ~20 of its ~45 instructions).
  void add(std::string_view type, std::string_view detail, std::size_t b, std::size_t e,
           double conf) {
    room();
    note(b, e);
    // Built in place field by field (a parenthesized aggregate init,
    // emplace_back(type, b, e, ...), needs clang 16; the fuzz build's is 14).
    Finding& f = out->emplace_back();
    f.type = type;
    f.begin = b;
    f.end = e;
    f.confidence = conf;
    f.detail = detail;
  }
  // Each finding is written once, as the Finding the caller gets: no record
  // per finding converted at the end (on text with a value every ~40 bytes
  // that copy, and the memory it touched, were ~10% of a scan).
  void push(Finding&& f) {
    room();
    note(f.begin, f.end);
    out->push_back(std::move(f));
  }
  // What add() and push() keep about a finding [b, e) about to be stored:
  // whether the findings still come apart.
  [[gnu::always_inline]] void note(std::size_t b, std::size_t e) {
    if (b < reach || b == last_begin) apart = false;
    reach = std::max(reach, e);
    last_begin = b;
    last_end = e;
  }
  // Hands the findings that no later one can change to the stream, when
  // every finding still to come is made at or after `at` (the place the
  // scan looks at next, which only moves forward), so begins at or after
  // `at` less the lookback. Called between two places, never inside a
  // recognizer (they compare out->size() before and after a call).
  [[gnu::noinline]] void flush(std::size_t at) {
    const std::size_t held = out->size();
    stream->release(*out, at > stream->lookback ? at - stream->lookback : 0, apart);
    cap -= held - out->size();
    flush_at = std::max(2 * out->size(), out->size() + stream->hold);
  }
  // Room in `out` for one more finding, which push_back then need not make:
  // its growth path is compiled out of the callers.
  [[gnu::always_inline]] void room() {
    if (out->size() == out->capacity()) [[unlikely]]
      make_room();
    if (out->size() == out->capacity()) __builtin_unreachable();
  }
  // All of them at the first finding (reserve_out), else twice as many, as
  // push_back would grow.
  [[gnu::noinline, gnu::cold]] void make_room() {
    if (out->empty())
      reserve_out();
    else
      out->reserve(2 * out->size());
  }
  // Room for one finding per 32 bytes (the densest text measured has one
  // per 38), but under 31 MiB: above glibc's 32 MiB ceiling for its dynamic
  // mmap threshold every large scan would map, and fault in, fresh pages.
  // Reserved at the first finding, so a text without any allocates nothing;
  // pages that stay unused are never touched.
  void reserve_out() {
    constexpr std::size_t kMaxReserve = (std::size_t{31} << 20) / sizeof(Finding);
    out->reserve(std::min({n / 32 + 8, kMaxReserve, im->limits.max_findings + 1, first_reserve}));
  }
  char at(std::size_t i) const { return i < n ? p[i] : '\0'; }
  bool word_before(std::size_t b) const { return b > 0 && is_alnum(p[b - 1]); }
  bool word_after(std::size_t e) const { return e < n && is_alnum(p[e]); }
};

// --- email: expand around '@' ----------------------------------------------
#if defined(__SSE2__)
// Lanes of `v` in lo..lo+count-1 (as unsigned bytes, count <= 128) set:
// adding 0x80 - lo moves that range to the lowest signed bytes and every
// other byte above them, so one signed compare tests it, where a compare
// with each end and an AND were three operations.
inline __m128i in_range16(__m128i v, char lo, int count) {
  return _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(static_cast<char>(0x80 - lo))),
                        _mm_set1_epi8(static_cast<char>(-128 + count)));
}
// Lanes of `v` that are ASCII letters set ('A'..'Z' folded onto 'a'..'z').
inline __m128i letters16(__m128i v) {
  return in_range16(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 26);
}
// Bit k set when p[k] is an ASCII letter or digit or one of X, for 16 bytes.
template <char... X>
inline unsigned alnum_or_mask16(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m128i m = _mm_or_si128(in_range16(v, '0', 10), letters16(v));
  ((m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(X)))), ...);
  return static_cast<unsigned>(_mm_movemask_epi8(m));
}
#endif

// Where an email's local part starts: the first of the is_local bytes (64
// at most) right before the '@' at `at`. The byte tests run 16 at a time
// (a test and a branch per byte were most of the cost of an email).
inline std::size_t local_start(const char* p, std::size_t at) {
  std::size_t b = at;
  const std::size_t floor = at > 64 ? at - 64 : 0;
#if defined(__SSE2__)
  while (b >= floor + 16) {
    const unsigned bad = ~alnum_or_mask16<'.', '_', '%', '+', '-'>(p + b - 16) & 0xFFFFu;
    if (bad) return b - 16 + (32 - static_cast<std::size_t>(__builtin_clz(bad)));
    b -= 16;
  }
#endif
  while (b > floor && is_local(p[b - 1])) --b;
  return b;
}

// Where an email's domain ends: the first byte after the '@' at `at` that is
// not is_domain, looking at 253 bytes at most.
inline std::size_t domain_end(const char* p, std::size_t at, std::size_t n) {
  std::size_t e = at + 1;
  const std::size_t lim = std::min(n, at + 254);
#if defined(__SSE2__)
  while (e + 16 <= lim) {
    const unsigned bad = ~alnum_or_mask16<'.', '-'>(p + e) & 0xFFFFu;
    if (bad) return e + static_cast<std::size_t>(__builtin_ctz(bad));
    e += 16;
  }
#endif
  while (e < lim && is_domain(p[e])) ++e;
  return e;
}

bool email_emit(ScanCtx& c, std::size_t b, std::size_t e);

bool on_email(ScanCtx& c, std::size_t to) {
  const std::size_t at = to - 1;
  std::size_t b = local_start(c.p, at);
  while (b < at && c.p[b] == '.') ++b;
  if (b == at) return true;
  std::size_t e = domain_end(c.p, at, c.n);
  while (e > at + 1 && (c.p[e - 1] == '.' || c.p[e - 1] == '-')) --e;
  std::string_view dom(c.p + at + 1, e - at - 1);
  if (dom.empty() || dom.front() == '.' || dom.front() == '-') return true;
#if defined(__SSE2__)
  // A domain of 16 bytes at most (nearly all): the tests below from one
  // 16-byte mask of its dots and one of its letters, where their loops were
  // ~6 instructions a byte.
  if (dom.size() <= 16 && at + 17 <= c.n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(dom.data()));
    const unsigned in = (1u << dom.size()) - 1;
    const unsigned dots =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')))) & in;
    if (!dots || (dots & (dots >> 1))) return true;
    const unsigned last_dot = 31 - static_cast<unsigned>(__builtin_clz(dots));
    if (dom.size() - last_dot - 1 < 2) return true;
    const unsigned tld = in & ~((2u << last_dot) - 1);
    if ((static_cast<unsigned>(_mm_movemask_epi8(letters16(v))) & tld) != tld) return true;
    return email_emit(c, b, e);
  }
#endif
  // At least two labels, none empty. It neither starts nor (trimmed above)
  // ends with a dot, so a label is empty only between two dots. One pass
  // with no branch per byte (the dots' places differ from one address to
  // the next) where a loop over the labels and rfind() were two.
  std::size_t last = std::string_view::npos;  // the last dot
  bool prev_dot = false, empty_label = false;
  for (std::size_t i = 0; i < dom.size(); ++i) {
    const bool dot = dom[i] == '.';
    empty_label |= dot & prev_dot;
    prev_dot = dot;
    last = dot ? i : last;
  }
  if (empty_label || last == std::string_view::npos) return true;
  std::string_view tld = dom.substr(last + 1);
  if (tld.size() < 2) return true;
  for (char ch : tld)
    if (!is_alpha(ch)) return true;
  return email_emit(c, b, e);
}

// The email [b, e) once its domain passed: one more test, then the finding.
bool email_emit(ScanCtx& c, std::size_t b, std::size_t e) {
  // user@host:path is an SSH/SCP remote (git@github.com:org/repo.git) and
  // user@host:port an authority, not a mailbox. "mail a@b.com: thanks" stays
  // an email, and so does a URI's "://kim@example.com" (resource URIs are
  // often named by a customer's address).
  if (e + 1 < c.n && c.p[e] == ':' &&
      (is_alnum(c.p[e + 1]) || c.p[e + 1] == '/' || c.p[e + 1] == '~' || c.p[e + 1] == '_' ||
       c.p[e + 1] == '.'))
    return true;
  return c.emit(pii::kEmail, b, e, 0.95, "");
}

// --- IBAN: CCdd + BBAN, printed with or without spaces ---------------------
bool on_iban(ScanCtx& c, std::size_t b, std::size_t to) {
  if (b < c.iban_until || c.word_before(b)) return true;
  const int want = check::iban_length(std::string_view(c.p + b, 2));
  char buf[40];  // 34 at most, and room for a last group's whole copy
  // The anchor is four bytes (CCdd); a longer one (an operator's own
  // pattern, or a fixed width from a forged cache file) is no IBAN and must
  // not be copied past the buffer.
  if (to < b || to - b > 34) return true;
  int len = 0;
  for (std::size_t q = b; q < to; ++q) buf[len++] = c.p[q];
  std::size_t e = to;
  bool scanned = false;
#if defined(__SSE2__)
  // The 64 bytes after the country code and check digits classified at
  // once: the loop below, a test and a branch or two per byte, was most of
  // an IBAN's cost. Kept are capitals and digits; a space is skipped when
  // one follows it; the first other byte ends the number. The count stops
  // at the country's length (or 34), which 30 kept bytes reach before the
  // window's last byte, whose follower it cannot see.
  if (len == 4 && to + 64 <= c.n) {
    std::uint64_t ok = 0, sp = 0;
    for (int k = 0; k < 4; ++k) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c.p + to + 16 * k));
      const __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
                                          _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
      const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                          _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
      ok |= static_cast<std::uint64_t>(
                static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(upper, digit))))
            << (16 * k);
      sp |= static_cast<std::uint64_t>(
                static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')))))
            << (16 * k);
    }
    const std::uint64_t stop = ~(ok | (sp & (ok >> 1)));
    const int stop_at = stop ? __builtin_ctzll(stop) : 64;
    std::uint64_t kept = stop_at < 64 ? ok & ((std::uint64_t{1} << stop_at) - 1) : ok;
    const int limit = want ? want : 34;
    int last = 0;
    // Bit k set when k % 5 != 0: groups of four after a space each, as an
    // IBAN is printed (" 4041 1003 7949 ..."). Those are copied a group at a
    // time, where the loop below takes a step per character.
    constexpr std::uint64_t kGroups = [] {
      std::uint64_t m = 0;
      for (int k = 0; k < 64; ++k)
        if (k % 5) m |= std::uint64_t{1} << k;
      return m;
    }();
    const std::uint64_t before_stop = stop_at < 64 ? (std::uint64_t{1} << stop_at) - 1 : ~0ULL;
    if (kept == (kGroups & before_stop)) {
      // The group characters before the stop, by count: bits k < stop_at
      // with k % 5 != 0 (no popcount instruction in the baseline x86-64 this
      // builds for: __builtin_popcountll was a call to libgcc).
      const int in_groups = stop_at - (stop_at + 4) / 5;
      const int take = std::min(in_groups, limit - 4);  // len is 4 here
      for (int g = 0; g < 8 && 4 * g < take; ++g)
        std::memcpy(buf + 4 + 4 * g, c.p + to + 1 + 5 * g, 4);
      len += take;
      // The last character taken, the take-th of the groups.
      last = take ? 1 + 5 * ((take - 1) / 4) + (take - 1) % 4 : 0;
      kept = 0;
    }
    while (kept && len < limit) {
      last = __builtin_ctzll(kept);
      buf[len++] = c.p[to + static_cast<std::size_t>(last)];
      kept &= kept - 1;
    }
    e = to + static_cast<std::size_t>(len == limit ? last + 1 : stop_at);
    scanned = true;
  }
#endif
  while (!scanned && len < 34 && e < c.n) {
    char ch = c.p[e];
    if (is_upper(ch) || is_digit(ch)) {
      buf[len++] = ch;
      ++e;
      if (want && len == want) break;
      continue;
    }
    if (ch == ' ' && e + 1 < c.n && (is_upper(c.p[e + 1]) || is_digit(c.p[e + 1]))) {
      ++e;
      continue;
    }
    break;
  }
  if (c.word_after(e)) return true;
  if (want ? len != want : len < 15) return true;
  if (!check::iban_valid(std::string_view(buf, len))) return true;
  c.iban_until = e;
  return c.emit(pii::kIban, b, e, want ? 0.95 : 0.8,
                want ? check::iban_country(std::string_view(c.p + b, 2)) : "unknown country");
}

// --- numbers: phones, RRN, cards, SSN, IPv4, E.164 -------------------------
struct Group {
  std::size_t b, e;
};

// A dotted quad right after a version word ("version 1.2.3.4", "버전
// 1.2.3.4", "build: 1.2.3.4") or with a version suffix ("1.2.3.4-rc1",
// "1.2.3.4+build") is a version number, not an address.
bool version_context(const ScanCtx& c, std::size_t b, std::size_t e) {
  if (e + 1 < c.n && (c.p[e] == '-' || c.p[e] == '+') && is_alpha(c.p[e + 1])) return true;
  std::size_t q = b;
  for (int k = 0; k < 4 && q > 0 &&
                  (c.p[q - 1] == ' ' || c.p[q - 1] == ':' || c.p[q - 1] == '=' ||
                   c.p[q - 1] == '"' || c.p[q - 1] == '\'');
       ++k)
    --q;
  static constexpr std::string_view kVersionWords[] = {
      "version", "ver",    "v",   "release", "rel",  "build",  "rev",    "revision", "firmware",
      "fw",      "kernel", "tag", "버전",    "빌드", "릴리스", "릴리즈", "펌웨어"};
  // Bit k set when a version word ends in the letter 'a' + k (either case):
  // a word ending in another ("from", "host", "addr" before an address) is
  // none of them, known before its length is. Hangul ends in a byte >= 0x80.
  static constexpr std::uint32_t kLastLetters = [] {
    std::uint32_t m = 0;
    for (auto v : kVersionWords)
      if (static_cast<unsigned char>(v.back()) < 0x80) m |= std::uint32_t{1} << (v.back() - 'a');
    return m;
  }();
  if (q == 0) return false;
  if (const char last = c.p[q - 1];
      static_cast<unsigned char>(last) < 0x80 &&
      (!is_alpha(last) || !((kLastLetters >> ((last | 0x20) - 'a')) & 1)))
    return false;
  // The word's last part after '_' ("app_version" -> "version"): the
  // letters (and bytes of Hangul) right before q, 24 bytes at most.
  std::size_t w = q;
  while (w > 0 && q - w < 24 &&
         (is_alpha(c.p[w - 1]) || static_cast<unsigned char>(c.p[w - 1]) >= 0x80))
    --w;
  // Bit L set when a version word has L bytes: a word of another length
  // ("from", "host", "addr" before an address) is none of them, known
  // without lower-casing it and comparing it with each (3-5% of a scan of
  // PII-dense English, which has an address in every record).
  static constexpr std::uint32_t kLengths = [] {
    std::uint32_t m = 0;
    for (auto v : kVersionWords) m |= std::uint32_t{1} << v.size();
    return m;
  }();
  if (!((kLengths >> (q - w)) & 1)) return false;
  // The word lower-cased (ASCII only; Hangul bytes are >= 0x80 and stay).
  char buf[24];
  for (std::size_t k = 0; k < q - w; ++k) {
    char ch = c.p[w + k];
    buf[k] = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch + 32) : ch;
  }
  const std::string_view word(buf, q - w);
  for (auto v : kVersionWords)
    if (word == v) return true;
  return false;
}

// The token right before `b` (or right after `e`), across one separator, is a
// group of hex digits that mixes letters and digits: the digits are part of a
// hash or a key fingerprint ("9E0B 4111 1111 1111 1111 0A2F"), not a number.
bool hex_neighbour_walk(const ScanCtx& c, std::size_t b, std::size_t e);
// A group is 4+ hex digits, so the four bytes next to the separator tell
// most numbers (a card after "card ") have none, without the walk's call.
inline bool hex_neighbour(const ScanCtx& c, std::size_t b, std::size_t e) {
  auto sep = [](char ch) { return ch == ' ' || ch == '-' || ch == ':' || ch == '.'; };
  const bool left = b >= 5 && sep(c.p[b - 1]) && is_hex(c.p[b - 2]) && is_hex(c.p[b - 3]) &&
                    is_hex(c.p[b - 4]) && is_hex(c.p[b - 5]);
  const bool right = e + 5 <= c.n && sep(c.p[e]) && is_hex(c.p[e + 1]) && is_hex(c.p[e + 2]) &&
                     is_hex(c.p[e + 3]) && is_hex(c.p[e + 4]);
  return (left || right) && hex_neighbour_walk(c, b, e);
}
bool hex_neighbour_walk(const ScanCtx& c, std::size_t b, std::size_t e) {
  auto hex_group = [&](std::size_t from, std::size_t to) {
    if (to - from < 4) return false;
    bool letter = false, digit = false;
    for (std::size_t q = from; q < to; ++q) {
      letter |= !is_digit(c.p[q]);
      digit |= is_digit(c.p[q]);
    }
    return letter && digit;
  };
  auto sep = [](char ch) { return ch == ' ' || ch == '-' || ch == ':' || ch == '.'; };
  if (b >= 2 && sep(c.p[b - 1]) && is_hex(c.p[b - 2])) {
    std::size_t q = b - 1;
    while (q > 0 && b - q < 80 && is_hex(c.p[q - 1])) --q;
    if ((q == 0 || !is_alnum(c.p[q - 1])) && hex_group(q, b - 1)) return true;
  }
  if (e + 2 <= c.n && e < c.n && sep(c.p[e]) && e + 1 < c.n && is_hex(c.p[e + 1])) {
    std::size_t q = e + 1;
    while (q < c.n && q - e < 80 && is_hex(c.p[q])) ++q;
    if ((q == c.n || !is_alnum(c.p[q])) && hex_group(e + 1, q)) return true;
  }
  return false;
}

bool classify_number(ScanCtx& c, const Group* g, int i, int j, bool plus, bool* matched) {
  *matched = false;
  const int k = j - i + 1;
  char d[64];  // 40 digits at most, and room for a fixed-size copy past them
  int nd = 0, lens[6];
  char seps[6] = {0, 0, 0, 0, 0, 0};
  for (int t = 0; t < k; ++t) {
    const Group& x = g[i + t];
    int len = static_cast<int>(x.e - x.b);
    if (nd + len > 40) return true;
    // A group is at most kMaxRun (24) digits: a fixed-size copy (three
    // moves) when the text has the bytes, instead of a call per group.
    if (x.b + 24 <= c.n)
      std::memcpy(d + nd, c.p + x.b, 24);
    else
      std::memcpy(d + nd, c.p + x.b, static_cast<std::size_t>(len));
    nd += len;
    lens[t] = len;
    if (t) seps[t] = c.p[x.b - 1];
  }
  bool any_dot = false, all_dot = k > 1, same_sep = true;
  for (int t = 1; t < k; ++t) {
    any_dot |= seps[t] == '.';
    all_dot &= seps[t] == '.';
    same_sep &= seps[t] == seps[1];
  }
  const bool lead_plus = plus && i == 0;
  const std::size_t b = lead_plus ? g[0].b - 1 : g[i].b, e = g[j].e;
  std::string_view D(d, nd);
  // Inlined (it was a call of its own per finding).
  auto emit = [&](std::string_view type, double conf, std::string_view detail)
      __attribute__((always_inline)) {
    *matched = true;
    return c.emit(type, b, e, conf, detail);
  };

  if (k == 4 && all_dot && !lead_plus) {
    // Octets 0..255 without leading zeros (check::ipv4_valid, from the groups).
    for (int t = 0, o = 0; t < 4; o += lens[t++])
      if (!octet_ok(d + o, lens[t])) return true;
    if (version_context(c, b, e)) return true;
    return emit(pii::kIpv4, 0.9, "");
  }
  if (any_dot && !all_dot) return true;
  if (lead_plus) {
    if (nd >= 10 && d[0] == '8' && d[1] == '2') {
      char kr[16];
      int nk = 0;
      if (D[2] != '0') kr[nk++] = '0';
      for (int q = 2; q < nd && nk < 15; ++q) kr[nk++] = D[q];
      if (auto kind = check::korean_phone_digits(std::string_view(kr, nk));
          kind != check::KrPhone::kNone)
        return emit(pii::kPhone, 0.9, check::kr_phone_name(kind));
    }
    if (nd >= 8 && nd <= 15 && D[0] != '0') return emit(pii::kPhone, k > 1 ? 0.8 : 0.7, "e164");
    return true;
  }
  const bool rrn_shape =
      (k == 2 && lens[0] == 6 && lens[1] == 7 && (seps[1] == '-' || seps[1] == ' ')) ||
      (k == 1 && nd == 13);
  if (rrn_shape) {
    auto r = check::check_rrn_digits(D);
    bool card_like = k == 1 && check::luhn_valid_digits(D) && !check::card_brand_digits(D).empty();
    if (k == 1 && hex_neighbour(c, b, e)) return true;
    if (r == check::RrnResult::kValid)
      return emit(pii::kRrn, k == 2 ? 0.95 : 0.9, "checksum valid");
    if (r == check::RrnResult::kDateOnly && !card_like)
      return emit(pii::kRrn, k == 2 ? 0.7 : 0.55,
                  "date valid, checksum not (numbers issued since Oct 2020 have none)");
  }
  if (nd >= 13 && nd <= 19 && same_sep && !any_dot) {
    bool fours = k > 1;
    for (int t = 0; t < k; ++t) fours &= t == k - 1 ? lens[t] <= 4 : lens[t] == 4;
    bool amex_like = k == 3 && lens[0] == 4 && lens[1] == 6 && (lens[2] == 5 || lens[2] == 4);
    if ((k == 1 || fours || amex_like) && check::luhn_valid_digits(D) && !hex_neighbour(c, b, e)) {
      auto brand = check::card_brand_digits(D);
      if (!brand.empty()) return emit(pii::kCreditCard, k == 1 ? 0.9 : 0.95, brand);
      if (fours) return emit(pii::kCreditCard, 0.6, "unknown issuer");
    }
  }
  if (k == 3 && lens[0] == 3 && lens[1] == 2 && lens[2] == 4 && same_sep &&
      (seps[1] == '-' || seps[1] == ' ')) {
    if (ssn_digits_ok(d, d + 3, d + 5)) return emit(pii::kSsn, seps[1] == '-' ? 0.85 : 0.6, "");
    return true;
  }
  // D holds digits only: the checks' digit-only forms, the kind as a number.
  const auto kind = check::korean_phone_digits(D);
  if (kind == check::KrPhone::kNone) return true;
  const std::string_view kind_name = check::kr_phone_name(kind);
  if (k == 1) return emit(pii::kPhone, kind == check::KrPhone::kMobile ? 0.75 : 0.6, kind_name);
  bool ok = false;
  if (kind == check::KrPhone::kService) {
    ok = k == 2 && lens[0] == 4 && lens[1] == 4;
  } else {
    int prefix = d[0] == '0' && d[1] == '2' ? 2 : 3;
    ok = k == 3 && lens[0] == prefix && (lens[1] == 3 || lens[1] == 4) && lens[2] == 4;
  }
  if (!ok) return true;
  return emit(pii::kPhone, 0.9, kind_name);
}

constexpr std::size_t kMaxRun = 24, kMaxToken = 64;

// A number token around the digit run [rb, re) (re - rb <= kMaxRun).
bool on_number_run(ScanCtx& c, std::size_t rb, std::size_t re) {
  constexpr int kMaxGroups = 12;
  const char* p = c.p;
  const std::size_t n = c.n, lo = c.number_until;
  // Groups to the left (separated by one of - . space), collected backwards.
  Group left[5];
  int nl = 0;
  std::size_t cur = rb;
  while (nl < 5 && cur >= lo + 2 && is_num_sep(p[cur - 1]) && is_digit(p[cur - 2]) &&
         re - cur < kMaxToken) {
    std::size_t e = cur - 1, b = e - 1;
    while (b > lo && is_digit(p[b - 1]) && e - b < kMaxRun) --b;
    left[nl++] = {b, e};
    cur = b;
  }
  // A parenthesised area code before them: "(02) 123-4567", "(031)123-4567".
  // It may be a run looked at already (then it held no finding: a 3-digit
  // run followed by ')' is no number token on its own).
  if (nl < 5 && cur >= 4) {
    const std::size_t close = p[cur - 1] == ')' ? cur - 1 : cur - 2;
    if ((close == cur - 1 || is_num_sep(p[cur - 1])) && p[close] == ')' && close >= 3 &&
        is_digit(p[close - 1])) {
      std::size_t b = close - 1;
      while (b > 0 && is_digit(p[b - 1]) && close - b < 4) --b;
      const bool taken = c.last_end > b;
      if (b > 0 && p[b - 1] == '(' && close - b >= 2 && !taken) left[nl++] = {b, close};
    }
  }
  Group g[kMaxGroups];
  int ng = 0;
  for (int t = nl - 1; t >= 0; --t) g[ng++] = left[t];
  g[ng++] = {rb, re};
  while (ng < kMaxGroups && g[ng - 1].e + 1 < n && is_num_sep(p[g[ng - 1].e]) &&
         is_digit(p[g[ng - 1].e + 1]) && g[ng - 1].e - g[0].b < kMaxToken) {
    const std::size_t b = g[ng - 1].e + 1;
    g[ng++] = {b, digit_run_end(p, b, n, kMaxRun)};
  }
  c.number_until = g[ng - 1].e;
  // IBANs: letters, then digits. Look back from the digits for "CCdd",
  // across capitals, digits and spaces: only when one of the two bytes
  // before them is a capital or a digit ("card 4111": the lower-case 'd'
  // would end the look-back before it found anything).
  if (g[0].b > 0 && (is_upper(p[g[0].b - 1]) ||
                     (p[g[0].b - 1] == ' ' && g[0].b > 1 &&
                      (is_upper(p[g[0].b - 2]) || is_digit(p[g[0].b - 2]))))) {
    const std::size_t floor = std::max(lo, g[0].b > 40 ? g[0].b - 40 : 0);
    for (std::size_t s = g[0].b; s-- > floor;) {
      char ch = p[s];
      if (!(is_upper(ch) || is_digit(ch) || ch == ' ')) break;
      if (s + 4 <= n && is_upper(p[s]) && is_upper(p[s + 1]) && is_digit(p[s + 2]) &&
          is_digit(p[s + 3]) && !(s > 0 && is_alnum(p[s - 1]))) {
        const std::size_t before = c.out->size();
        if (!on_iban(c, s, s + 4)) return false;
        if (c.out->size() > before) {
          c.number_until = std::max(c.number_until, c.iban_until);
          return true;
        }
      }
    }
  }
  // Every recognizer needs 7+ digits, except a dotted quad: most numbers in
  // prose (years, prices, counts) stop here.
  if (ng < 4) {
    std::size_t digits = 0;
    for (int t = 0; t < ng; ++t) digits += g[t].e - g[t].b;
    if (digits < 7) return true;
  }
  const bool plus = g[0].b > lo && p[g[0].b - 1] == '+';

  auto left_ok = [&](int i) {
    if (i > 0) return p[g[i].b - 1] == ' ';
    std::size_t s = plus ? g[0].b - 1 : g[0].b;
    if (s == 0) return true;
    char ch = p[s - 1];
    return !is_word(ch) && !(ch == '.' && s >= 2 && is_digit(p[s - 2]));
  };
  auto right_ok = [&](int j) {
    std::size_t e = g[j].e;
    if (j < ng - 1) return p[e] == ' ';
    if (e >= n) return true;
    char ch = p[e];
    if (is_word(ch)) return false;
    return !(is_num_sep(ch) && e + 1 < n && is_digit(p[e + 1]));
  };
  // A token grouped like a card (4-4-4-4, 4-4-4-4-3, one separator) is one
  // number: when it is no card, no phone is looked for in its groups
  // ("4413 3862 1881 1891" fails Luhn; "1881 1891" is no service number).
  if ((ng == 4 || ng == 5) && left_ok(0) && right_ok(ng - 1)) {
    bool card_shaped = p[g[0].e] == ' ' || p[g[0].e] == '-';
    for (int t = 0; t < ng && card_shaped; ++t) {
      const std::size_t len = g[t].e - g[t].b;
      card_shaped = (t < ng - 1 ? len == 4 && p[g[t].e] == p[g[0].e] : len >= 1 && len <= 4);
    }
    if (card_shaped) {
      bool found = false;
      return classify_number(c, g, 0, ng - 1, plus, &found);
    }
  }
  int i = 0;
  while (i < ng) {
    bool found = false;
    if (left_ok(i)) {
      for (int j = std::min(ng - 1, i + 5); j >= i && !found; --j) {
        if (!right_ok(j)) continue;
        if (!classify_number(c, g, i, j, plus, &found)) return false;
        if (found) i = j + 1;
      }
    }
    if (!found) ++i;
  }
  return true;
}

// The digits of a number token's `ng` groups (lengths `lens`, one
// separator between two) at q, copied to `d` 8 bytes a group (groups of 7
// digits at most). Restrict: the stores to d change neither `lens` nor the
// text, so neither is read again after each (as the lambda this was did:
// ~15 instructions a group).
inline void copy_groups(char* __restrict d, const char* __restrict q, const int* __restrict lens,
                        int ng) {
  for (int t = 0; t < ng; ++t) {
    std::memcpy(d, q, 8);
    d += lens[t];
    q += lens[t] + 1;
  }
}

// The common number tokens straight to the one recognizer their shape
// admits, without on_number_run's general walk (groups left of the run, an
// area code in parentheses, an IBAN's letters, ranges of groups tried one
// after another, recognizers tried in turn): on PII-dense text that walk
// was ~600 instructions a token. A token is handled here only when every
// test on_number_run would make is known to come out as assumed below, and
// then with the same finding: its groups and their shape from one 32-byte
// digit mask, the shape to a recognizer, the recognizer's own checks. Any
// other token, or one its recognizer rejects, is left to on_number_run
// (nothing is changed before that is known).
//
// The digit run [s, i) was found by native_scan (s >= c.number_until).
// Returns 1 when the token was handled (c.number_until past it, its
// finding emitted), 0 when on_number_run must look at it, -1 when the
// findings cap was reached.
#if defined(__SSE2__)
inline int fast_number(ScanCtx& c, std::size_t s, std::size_t i) {
  const char* p = c.p;
  const std::size_t n = c.n;
  // on_number_run would look at the run's last kMaxRun digits only; the
  // window (32 bytes, and 8 more for the digit copies) must be in the text.
  if (i - s > kMaxRun || s < 2 || s + 40 > n) return 0;
  // Left of the run: no group ("555-0123" with "555-" before), no area code
  // in parentheses.
  const char a = p[s - 1], a2 = p[s - 2];
  if (a == ')' || a2 == ')' || (is_num_sep(a) && is_digit(a2))) return 0;
  // The groups right of it, as on_number_run finds them (a separator, then
  // digits), up to 6; each must end inside the window.
  const std::uint32_t dm = digit_mask16(p + s) | digit_mask16(p + s + 16) << 16;
  int len[6];
  char sep[6] = {0, 0, 0, 0, 0, 0};
  len[0] = static_cast<int>(i - s);
  int ng = 1, nd = len[0];
  std::size_t e = i;
  for (;;) {
    if (e + 1 >= s + 32) return 0;
    const char ch = p[e];
    if (!is_num_sep(ch) || !((dm >> (e + 1 - s)) & 1)) break;
    if (ng == 6) return 0;
    const std::size_t b = e + 1;
    const int l = __builtin_ctzll(~std::uint64_t{dm} >> (b - s));
    e = b + static_cast<std::size_t>(l);
    // The run may go on past the window; on_number_run cuts a group at kMaxRun.
    if (e >= s + 32 || l > static_cast<int>(kMaxRun)) return 0;
    sep[ng] = ch;
    len[ng++] = l;
    nd += l;
  }
  // IBANs: after a capital or "X ", on_number_run looks back for "CCdd" and
  // hands each to on_iban, nearest first, until one is found ("IP 10.1.2.3"
  // has none); the same here, with the groups it would have found.
  if (is_upper(a) || (a == ' ' && is_upper(a2))) {
    const std::size_t floor = std::max(c.number_until, s > 40 ? s - 40 : 0);
    for (std::size_t q = s; q-- > floor;) {
      const char ch = p[q];
      if (!(is_upper(ch) || is_digit(ch) || ch == ' ')) break;
      if (is_upper(ch) && is_upper(p[q + 1]) && is_digit(p[q + 2]) && is_digit(p[q + 3]) &&
          !(q > 0 && is_alnum(p[q - 1]))) {
        const std::size_t before = c.out->size();
        if (!on_iban(c, q, q + 4)) {
          c.number_until = e;
          return -1;
        }
        if (c.out->size() > before) {
          c.number_until = std::max(e, c.iban_until);
          return 1;
        }
      }
    }
  }
  // Every recognizer needs 7+ digits, except a dotted quad.
  if (ng < 4 && nd < 7) {
    c.number_until = e;
    return 1;
  }
  const bool plus = s > c.number_until && a == '+';
  // The token stands apart (on_number_run's left_ok(0), right_ok(ng - 1)).
  const std::size_t b = plus ? s - 1 : s;
  if (b > 0 && (is_word(p[b - 1]) || (p[b - 1] == '.' && b >= 2 && is_digit(p[b - 2])))) return 0;
  if (is_word(p[e]) || (is_num_sep(p[e]) && is_digit(p[e + 1]))) return 0;
  bool dots = false, same = true;
  for (int t = 1; t < ng; ++t) {
    dots |= sep[t] == '.';
    same &= sep[t] == sep[1];
  }
  const char d0 = p[s];
  // The digits, for the recognizers that read them all (groups of 7 at most).
  char d[64];
  auto copy = [&] {
    copy_groups(d, p + s, len, ng);
    return std::string_view(d, static_cast<std::size_t>(nd));
  };
  std::string_view type, detail;
  double conf = 0;
  if (plus) {
    // +E.164 ("+1 260 555 0111"); +82 goes the long way.
    if (dots || d0 == '8' || d0 == '0' || nd < 8 || nd > 15) return 0;
    type = pii::kPhone, conf = ng > 1 ? 0.8 : 0.7, detail = "e164";
  } else if (ng == 4 && dots) {
    // A dotted quad: octets 0..255 without leading zeros, no version.
    if (!same) return 0;
    const char* q = p + s;
    for (int t = 0; t < 4; q += len[t++] + 1)
      if (!octet_ok(q, len[t])) return 0;
    if (version_context(c, s, e)) return 0;
    type = pii::kIpv4, conf = 0.9, detail = "";
  } else if (dots) {
    return 0;
  } else if (ng == 4 && same && len[0] == 4 && len[1] == 4 && len[2] == 4 && len[3] <= 4 &&
             nd >= 13) {
    // A card grouped in fours (4-4-4-1..4).
    const std::string_view D = copy();
    if (!check::luhn_valid_digits(D) || hex_neighbour(c, s, e)) return 0;
    detail = check::card_brand_digits(D);
    type = pii::kCreditCard, conf = 0.95;
    if (detail.empty()) conf = 0.6, detail = "unknown issuer";
  } else if (ng == 3 && same && len[0] == 4 && len[1] == 6 && (len[2] == 5 || len[2] == 4)) {
    // An Amex-like card (4-6-5, 4-6-4): only a known brand is one.
    const std::string_view D = copy();
    if (!check::luhn_valid_digits(D) || hex_neighbour(c, s, e)) return 0;
    detail = check::card_brand_digits(D);
    if (detail.empty()) return 0;
    type = pii::kCreditCard, conf = 0.95;
  } else if (ng == 3 && same && len[0] == 3 && len[1] == 2 && len[2] == 4) {
    // A US SSN (the separators are one of '-' and ' ': dots went above).
    if (!ssn_digits_ok(p + s, p + s + 4, p + s + 7)) return 0;
    type = pii::kSsn, conf = sep[1] == '-' ? 0.85 : 0.6, detail = "";
  } else if (ng == 3 && (len[0] == 2 || len[0] == 3) && (len[1] == 3 || len[1] == 4) &&
             len[2] == 4 && (d0 == '0' || d0 == '1')) {
    // A Korean number in three groups (02-123-4567, 010-1234-5678).
    const std::string_view D = copy();
    const auto kind = check::korean_phone_digits(D);
    if (kind == check::KrPhone::kNone || kind == check::KrPhone::kService) return 0;
    if (len[0] != (D[0] == '0' && D[1] == '2' ? 2 : 3)) return 0;
    type = pii::kPhone, conf = 0.9, detail = check::kr_phone_name(kind);
  } else if (ng == 2 && len[0] == 6 && len[1] == 7) {
    // A Korean RRN (YYMMDD-GNNNNNN): the date, then the checksum.
    const auto r = check::check_rrn_digits(copy());
    type = pii::kRrn;
    if (r == check::RrnResult::kValid)
      conf = 0.95, detail = "checksum valid";
    else if (r == check::RrnResult::kDateOnly)
      conf = 0.7, detail = "date valid, checksum not (numbers issued since Oct 2020 have none)";
    else
      return 0;
  } else {
    return 0;
  }
  c.number_until = e;
  return c.emit(type, b, e, conf, detail) ? 1 : -1;
}
#else
inline int fast_number(ScanCtx&, std::size_t, std::size_t) { return 0; }
#endif

// A regex anchor's match ending at `to`, inside a digit run.
bool on_number(ScanCtx& c, std::size_t to) {
  if (to <= c.number_until) return true;
  const char* p = c.p;
  const std::size_t lo = c.number_until;
  std::size_t rb = to - 1;
  while (rb > lo && is_digit(p[rb - 1]) && to - rb < kMaxRun) --rb;
  return on_number_run(c, rb, digit_run_end(p, to, c.n, kMaxRun - (to - rb)));
}

// --- IPv6: expand the hex/colon run around "x:y:" --------------------------
bool on_ipv6(ScanCtx& c, std::size_t to) {
  if (to <= c.ipv6_until) return true;
  auto v6 = [](char ch) { return is_hex(ch) || ch == ':' || ch == '.'; };
  const std::size_t lo = std::max(c.ipv6_until, to > 48 ? to - 48 : 0);
  std::size_t b = to - 1;
  while (b > lo && v6(c.p[b - 1])) --b;
  std::size_t e = to;
  while (e < c.n && e - b < 46 && v6(c.p[e])) ++e;
  c.ipv6_until = e;
  if ((b > 0 && (v6(c.p[b - 1]) || is_word(c.p[b - 1]))) ||
      (e < c.n && (v6(c.p[e]) || is_word(c.p[e]))))
    return true;
  while (e > b && c.p[e - 1] == '.') --e;
  if (e - b < 6) return true;
  if (!check::ipv6_valid(std::string_view(c.p + b, e - b))) return true;
  return c.emit(pii::kIpv6, b, e, 0.85, "");
}

// --- Korean names: a surname, a given name, then 님/씨 --------------------
// Korean names are a one-syllable surname and a one- or two-syllable given
// name, or a two-syllable surname (남궁, 제갈, ...) and a one- or
// two-syllable given name. A four-syllable run after a one-syllable surname
// is a word ("김치찌개님"), not a name; runs starting with a surname syllable
// that are common nouns ("민원씨", "고객님") are in name_stop_words. "김철수
// 씨" (a space before the honorific) counts only for full names (three or
// more syllables): "장미 씨" is a rose seed. What follows the honorific must
// be the end of the word or a particle (씨가, 님께서): "씨앗", "씨름" are words.
bool particle_after(const ScanCtx& c, std::size_t to) {
  if (to + 3 > c.n || !hangul_syllable(c.p + to)) return true;
  // The syllables a particle (or an ending) starts with, as a bitset over
  // U+AC00..U+D7A3: one lookup where comparing with each was a memcmp call.
  static const std::vector<bool> kParticles = [] {
    static constexpr std::string_view kList[] = {
        "은", "는", "이", "가", "을", "를", "의", "에", "께", "도", "만", "과", "와",
        "랑", "하", "한", "로", "으", "처", "보", "들", "요", "뿐", "부", "까", "조",
        "마", "야", "아", "였", "입", "말", "네", "죠", "지", "라", "여"};
    std::vector<bool> t(0xD7A4 - 0xAC00, false);
    for (auto p : kList) t[hangul_index(p.data())] = true;
    return t;
  }();
  return kParticles[hangul_index(c.p + to)];
}

bool on_korean_name(ScanCtx& c, std::size_t b, std::size_t to) {
  const std::size_t h = b;  // the honorific starts here
  const bool spaced = h >= 1 && c.p[h - 1] == ' ';
  const std::size_t ne = spaced ? h - 1 : h;  // the name ends here
  std::size_t s = ne;
  int cnt = 0;
  while (cnt < 5 && s >= 3 && hangul_syllable(c.p + s - 3)) {
    s -= 3;
    ++cnt;
  }
  if (cnt < 2 || cnt > 4 || (spaced && cnt < 3)) return true;
  if (!particle_after(c, to)) return true;
  std::string_view run(c.p + s, ne - s);
  const auto& im = *c.im;
  const bool one = im.surname1[hangul_index(c.p + s)];
  bool two = false;
  if (cnt >= 3 && im.surname2_first[hangul_index(c.p + s)])
    for (auto s2 : im.surnames2) two |= std::memcmp(run.data(), s2.data(), 6) == 0;
  if (!(one && cnt <= 3) && !two) return true;
  if (im.stop_words.contains(run)) return true;
  if (!spaced && im.stop_words.contains(std::string_view(c.p + s, to - s))) return true;
  const double conf = cnt == 2 ? 0.6 : 0.75;
  std::string_view hon(c.p + h, to - h);
  return c.emit(pii::kKoreanName, s, ne, conf, hon == "님" ? "honorific 님" : "honorific 씨");
}

// --- secrets -----------------------------------------------------------------
bool on_aws_key(ScanCtx& c, std::size_t b, std::size_t to) {
  if (c.word_before(b) || c.word_after(to)) return true;
  static constexpr std::string_view kPrefixes[] = {"AKIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA",
                                                   "ANPA", "ANVA", "APKA", "AROA", "ASCA"};
  // The prefix as one 4-byte word against each (a string_view compare was
  // a memcmp call per prefix: 1.4% of the instructions of a scan of
  // PII-dense English).
  auto word = [](const char* q) {
    std::uint32_t w;
    std::memcpy(&w, q, 4);
    return w;
  };
  const std::uint32_t prefix = word(c.p + b);
  std::string_view detail = "access key";
  for (auto k : kPrefixes)
    if (prefix == word(k.data())) detail = k;
  return c.emit(pii::kAwsAccessKey, b, to, 0.9, prefix == word("ASIA") ? "temporary" : detail);
}

bool icontains(std::string_view hay, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

bool on_secret(ScanCtx& c, std::size_t b, std::size_t to) {
  if (c.word_before(b)) return true;
  std::size_t q = to;
  char nx = c.at(q);
  if (is_word(nx) || nx == '-') return true;  // a longer identifier ("token_type")
  if (nx == '"' || nx == '\'') ++q;
  for (int s = 0; s < 3 && c.at(q) == ' '; ++s) ++q;
  char sep = c.at(q);
  if (sep != '=' && sep != ':') return true;
  ++q;
  for (int s = 0; s < 3 && c.at(q) == ' '; ++s) ++q;
  char quote = 0;
  if (c.at(q) == '"' || c.at(q) == '\'') quote = c.p[q++];
  const std::size_t vb = q;
  if (vb == c.secret_vb) return true;  // another key name already took this value
  while (q < c.n && q - vb < 256) {
    char ch = c.p[q];
    if (quote ? (ch == quote || ch == '\n' || ch == '\r' || ch == '\\')
              : (static_cast<unsigned char>(ch) <= ' ' || ch == '"' || ch == '\'' || ch == ',' ||
                 ch == ';' || ch == '&' || ch == '<' || ch == '>' || ch == '(' || ch == ')' ||
                 ch == '{' || ch == '}' || ch == '[' || ch == ']'))
      break;
    ++q;
  }
  std::string_view v(c.p + vb, q - vb);
  if (v.size() < 4) return true;
  if (v.starts_with("${") || v.starts_with("{{") || v.starts_with("<") || v.starts_with("%") ||
      v.starts_with("[REDACTED") || v.starts_with("***"))
    return true;
  bool same = true, digit = false, other = false, upper = false, lower = false;
  for (char ch : v) {
    same &= ch == v[0];
    digit |= is_digit(ch);
    upper |= is_upper(ch);
    lower |= (ch >= 'a' && ch <= 'z');
    other |= !is_alnum(ch);
  }
  if (same) return true;
  static constexpr std::string_view kPlaceholders[] = {"null",      "none",     "true",  "false",
                                                       "undefined", "redacted", "string"};
  for (auto ph : kPlaceholders)
    if (iequals(v, ph)) return true;
  std::string_view key(c.p + b, to - b);
  const bool pw = icontains(key, "pass") || icontains(key, "pwd");
  if (sep == ':' && !quote && !pw && !(digit || other || (upper && lower)) && v.size() < 16)
    return true;  // prose: "secret: always ..."
  c.secret_vb = vb;
  bool b64 = v.size() == 40;
  for (char ch : v) b64 &= is_alnum(ch) || ch == '/' || ch == '+' || ch == '=';
  if (b64 && (icontains(key, "aws") || icontains(key, "secret")))
    return c.emit(pii::kAwsSecretKey, vb, q, 0.9, "");
  return c.emit(pii::kSecret, vb, q, pw ? 0.75 : 0.7, pw ? "password" : "assignment");
}

bool on_bearer(ScanCtx& c, std::size_t b, std::size_t to) {
  if (c.word_before(b)) return true;
  std::size_t e = to;
  auto tok = [](char ch) {
    return is_alnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == '+' ||
           ch == '/' || ch == '=';
  };
  while (e < c.n && e - to < 8192 && tok(c.p[e])) ++e;
  if (e - to < 16) return true;
  return c.emit(pii::kBearerToken, to, e, 0.85, "");
}

bool on_jwt(ScanCtx& c, std::size_t b, std::size_t /*to*/) {
  if (b < c.jwt_until) return true;
  if (b > 0 && is_b64url(c.p[b - 1])) return true;
  auto seg = [&](std::size_t s, std::size_t cap) {
    std::size_t e = s;
    while (e < c.n && e - s < cap && is_b64url(c.p[e])) ++e;
    return e;
  };
  std::size_t e1 = seg(b, 4096);
  if (e1 - b < 10 || c.at(e1) != '.') return true;
  std::size_t e2 = seg(e1 + 1, 1 << 16);
  if (e2 - e1 - 1 < 10 || c.at(e2) != '.') return true;
  std::size_t e3 = seg(e2 + 1, 4096);
  c.jwt_until = e3;
  bool strong = std::string_view(c.p + e1 + 1, 3) == "eyJ" && e3 - e2 - 1 >= 16;
  return c.emit(pii::kJwt, b, e3, strong ? 0.95 : 0.8, e3 == e2 + 1 ? "unsigned" : "");
}

bool on_private_key(ScanCtx& c, std::size_t b, std::size_t to) {
  if (b < c.pem_until) return true;
  std::string_view rest(c.p + to, std::min<std::size_t>(c.n - to, 64));
  std::size_t le = rest.find("-----");
  if (le == std::string_view::npos) return true;
  std::string_view label = rest.substr(0, le);
  if (!label.ends_with("PRIVATE KEY")) return true;
  const std::size_t body = to + le + 5;
  std::string_view tail(c.p + body, std::min<std::size_t>(c.n - body, 1 << 16));
  std::size_t f = tail.find("-----");
  std::size_t end = f == std::string_view::npos ? body + tail.size() : body + f;
  double conf = 0.8;
  std::string_view detail = "no END line";
  if (f != std::string_view::npos) {
    std::string_view after = tail.substr(f);
    if (after.starts_with("-----END ") && after.substr(9).starts_with(label) &&
        after.substr(9 + label.size()).starts_with("-----")) {
      end = body + f + 9 + label.size() + 5;
      conf = 0.99;
      detail = "";
    }
  }
  c.pem_until = end;
  return c.emit(pii::kPrivateKey, b, end, conf, detail);
}

bool on_github(ScanCtx& c, std::size_t b, std::size_t to) {
  if (c.word_before(b)) return true;
  const bool pat = to - b > 4;  // github_pat_
  std::size_t e = to;
  while (e < c.n && e - to < 255 && (is_alnum(c.p[e]) || (pat && c.p[e] == '_'))) ++e;
  if (e - to < (pat ? 22u : 36u) || c.word_after(e)) return true;
  static constexpr std::string_view kKinds[] = {"ghp", "gho", "ghu", "ghs", "ghr"};
  std::string_view kind = "fine-grained";
  if (!pat)
    for (auto k : kKinds)
      if (std::string_view(c.p + b, 3) == k) kind = k;
  return c.emit(pii::kGithubToken, b, e, 0.95, kind);
}

bool on_slack(ScanCtx& c, std::size_t b, std::size_t to) {
  if (c.word_before(b)) return true;
  std::size_t e = to;
  while (e < c.n && e - to < 255 && (is_alnum(c.p[e]) || c.p[e] == '-')) ++e;
  if (e - to < 10) return true;
  static constexpr std::string_view kKinds[] = {"xoxa", "xoxb", "xoxp", "xoxo", "xoxs", "xoxr"};
  std::string_view kind = "token";
  for (auto k : kKinds)
    if (std::string_view(c.p + b, 4) == k) kind = k;
  return c.emit(pii::kSlackToken, b, e, 0.9, kind);
}

// --- native anchors -----------------------------------------------------------
// Which bytes other than digit runs the native anchors look at.
struct NativeWants {
  bool colons;  // ipv6
  bool ats;     // email
};

// The next place the native anchors look at, in [i, until): a digit after a
// non-digit (the start of a digit run), a ':' when `w.colons`, an '@' when
// `w.ats`. 16 bytes at a time; `until` if there is none.
inline std::size_t next_native(const char* p, std::size_t i, std::size_t until, std::size_t n,
                               NativeWants w) {
#if defined(__SSE2__)
  while (i < until && i + 16 <= n) {
    const unsigned dm = digit_mask16(p + i);
    const unsigned carry = i > 0 && is_digit(p[i - 1]) ? 1u : 0u;
    unsigned ev = dm & ~((dm << 1) | carry) & 0xFFFFu;
    if (w.colons || w.ats) ev |= punct_mask16(p + i, w.colons, w.ats);
    if (ev) return std::min(until, i + static_cast<std::size_t>(__builtin_ctz(ev)));
    i += 16;
  }
#endif
  for (; i < until; ++i) {
    if (w.colons && p[i] == ':') return i;
    if (w.ats && p[i] == '@') return i;
    if (is_digit(p[i]) && !(i > 0 && is_digit(p[i - 1]))) return i;
  }
  return until;
}

#if defined(__SSE2__)
// The next native event in [i, until) from 64-byte blocks classified once
// (ScanCtx::blk_*): on dense text a block holds several tokens, and each
// next_native call re-loaded and re-tested the bytes after the previous
// token, a chain of dependent loads per token. Text within 64 bytes of its
// end goes to next_native. Returns `until` if there is none.
inline std::size_t next_event(ScanCtx& c, std::size_t i, std::size_t until, NativeWants w) {
  const char* p = c.p;
  while (i < until) {
    if (c.blk_base == SIZE_MAX || i - c.blk_base >= 64) {  // no block, or i is outside it
      if (i + 64 > c.n) return next_native(p, i, until, c.n, w);
      const std::uint64_t d = static_cast<std::uint64_t>(digit_mask16(p + i)) |
                              static_cast<std::uint64_t>(digit_mask16(p + i + 16)) << 16 |
                              static_cast<std::uint64_t>(digit_mask16(p + i + 32)) << 32 |
                              static_cast<std::uint64_t>(digit_mask16(p + i + 48)) << 48;
      const std::uint64_t carry = i > 0 && is_digit(p[i - 1]) ? 1u : 0u;
      std::uint64_t ev = d & ~((d << 1) | carry);
      if (w.colons || w.ats)
        ev |= static_cast<std::uint64_t>(punct_mask16(p + i, w.colons, w.ats)) |
              static_cast<std::uint64_t>(punct_mask16(p + i + 16, w.colons, w.ats)) << 16 |
              static_cast<std::uint64_t>(punct_mask16(p + i + 32, w.colons, w.ats)) << 32 |
              static_cast<std::uint64_t>(punct_mask16(p + i + 48, w.colons, w.ats)) << 48;
      c.blk_base = i;
      c.blk_digits = d;
      c.blk_events = ev;
    }
    const std::uint64_t m = c.blk_events >> (i - c.blk_base);
    if (m) return std::min(until, i + static_cast<std::size_t>(__builtin_ctzll(m)));
    i = c.blk_base + 64;
  }
  return until;
}

// The end of the digit run starting at s, from the block when it holds s.
inline std::size_t run_end(const ScanCtx& c, std::size_t s) {
  if (c.blk_base != SIZE_MAX && s - c.blk_base < 64) {
    const std::uint64_t other = ~c.blk_digits >> (s - c.blk_base);
    if (other) return s + static_cast<std::size_t>(__builtin_ctzll(other));
    return digit_run_end(c.p, c.blk_base + 64, c.n, c.n - c.blk_base - 64);
  }
  return digit_run_end(c.p, s, c.n, c.n - s);
}
#else
inline std::size_t next_event(ScanCtx& c, std::size_t i, std::size_t until, NativeWants w) {
  return next_native(c.p, i, until, c.n, w);
}
inline std::size_t run_end(const ScanCtx& c, std::size_t s) {
  return digit_run_end(c.p, s, c.n, c.n - s);
}
#endif

// Runs the native anchors from c.native_pos up to `until`: each digit run
// that can start a number token goes to on_number_run, each colon that can
// be inside an IPv6 address to on_ipv6, each '@' to on_email. One call per
// token, where a regex anchor would report a match per digit. In text order,
// as the regex anchors' matches are handled (on_match catches up first), so
// an '@' is looked at where a match of "@" would be. Returns false when the
// scan must stop.
bool native_scan(ScanCtx& c, std::size_t until) {
  const char* p = c.p;
  const std::size_t n = c.n;
  const bool numbers = c.im->native_number;
  const NativeWants w{c.im->native_ipv6, c.im->native_email};
  std::size_t i = c.native_pos;
  while ((i = next_event(c, i, until, w)) < until) {
    if (c.out->size() >= c.flush_at) [[unlikely]]
      c.flush(i);
    if (p[i] > '9') {  // ':' or '@' (a digit run starts with a digit)
      if (p[i] == '@') {
        if (!on_email(c, i + 1)) return false;
        ++i;
        continue;
      }
      if (i + 1 > c.ipv6_until && ((i + 1 < n && p[i + 1] == ':') ||
                                   (i > 0 && is_hex(p[i - 1]) && i + 1 < n && is_hex(p[i + 1])))) {
        if (!on_ipv6(c, i + 1)) return false;
      }
      i = std::max(i + 1, c.ipv6_until);
      continue;
    }
    const std::size_t s = i;
    // The rest of a token already looked at (the groups of a card, an IP).
    if (s < c.number_until) {
      i = c.number_until;
      continue;
    }
    i = run_end(c, s);
    if (!numbers) continue;
    // Every number recognizer needs a run of 3+ digits or a run followed by
    // a separator and more digits (1.2.3.4, 02-123-4567): "5 people" and
    // "12:30" stop here.
    if (i - s >= 3 || (i + 1 < n && is_num_sep(p[i]) && is_digit(p[i + 1]))) {
      // A run longer than any group is looked at by its last kMaxRun digits
      // (what precedes them is a digit, so it is no number token).
      const std::size_t rb = std::max({s, c.number_until, i > kMaxRun ? i - kMaxRun : 0});
      const int fast = fast_number(c, s, i);
      if (fast < 0 || (fast == 0 && !on_number_run(c, rb, i))) return false;
      i = std::max(i, c.number_until);
    }
  }
  c.native_pos = std::max(i, until);
  return true;
}

int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned /*flags*/,
             void* vctx) {
  auto& c = *static_cast<ScanCtx*>(vctx);
  // Only a database built for another pattern set (a cache file forged with
  // this set's key) reports other ids: ignore them rather than read past.
  if (id >= c.info->size()) [[unlikely]]
    return 0;
  const PatternInfo& pi = (*c.info)[id];
  // Findings in text order (so resolve_overlaps finds them sorted): the
  // native anchors catch up first.
  if (static_cast<std::size_t>(to) > c.native_pos && !native_scan(c, static_cast<std::size_t>(to)))
    return 1;
  const std::size_t t = static_cast<std::size_t>(to);
  if (c.out->size() >= c.flush_at) [[unlikely]]
    c.flush(t);
  // A fixed width longer than the match can only come from a forged cache
  // file (widths are cached with the databases): then the reported start.
  const std::size_t f = pi.width >= 0 && static_cast<std::size_t>(pi.width) <= t
                            ? t - static_cast<std::size_t>(pi.width)
                            : static_cast<std::size_t>(from);
  bool go = true;
  switch (pi.v) {
    case V::kEmail:
      go = on_email(c, t);
      break;
    case V::kNumber:
      go = on_number(c, t);
      break;
    case V::kIpv6:
      go = on_ipv6(c, t);
      break;
    case V::kIban:
      go = on_iban(c, f, t);
      break;
    case V::kKoreanName:
      go = on_korean_name(c, f, t);
      break;
    case V::kAwsAccessKey:
      go = on_aws_key(c, f, t);
      break;
    case V::kSecret:
      go = on_secret(c, f, t);
      break;
    case V::kBearer:
      go = on_bearer(c, f, t);
      break;
    case V::kJwt:
      go = on_jwt(c, f, t);
      break;
    case V::kPrivateKey:
      go = on_private_key(c, f, t);
      break;
    case V::kGithub:
      go = on_github(c, f, t);
      break;
    case V::kSlack:
      go = on_slack(c, f, t);
      break;
    case V::kCustom:
      if (c.custom.size() >= 4 * c.im->limits.max_findings) {
        c.overflow = true;
        c.overflow_at = f;
        go = false;
      } else {
        c.custom.push_back({static_cast<std::uint32_t>(pi.custom), f, t});
      }
      break;
  }
  return go ? 0 : 1;
}

struct TailCtx {
  unsigned want;
  bool found = false;
};
int on_tail(unsigned id, unsigned long long, unsigned long long, unsigned, void* v) {
  auto& t = *static_cast<TailCtx*>(v);
  if (id == t.want) {
    t.found = true;
    return 1;
  }
  return 0;
}

}  // namespace

struct PiiScanner::Impl {
  Core core;
};

PiiScanner::PiiScanner(PatternSet patterns, ScannerLimits limits,
                       std::filesystem::path db_cache_dir)
    : impl_(std::make_unique<Impl>()) {
  impl_->core.set = std::move(patterns);
  impl_->core.limits = limits;
  impl_->core.cache_dir = std::move(db_cache_dir);
  if (impl_->core.limits.max_findings == 0) impl_->core.limits.max_findings = 1;
  impl_->core.compile();
  // The ICU data now (a missing file fails here, not in a scan); its tables
  // when the first text needs them, or at init_normalization().
  check_normalization_data();
}

PiiScanner::~PiiScanner() = default;

bool PiiScanner::secret_key(std::string_view key) const {
  const Core& im = impl_->core;
  if (key.empty() || !(im.secret_key_lengths >> length_bit(key.size()) & 1)) return false;
  for (const auto& k : im.set.secret_keys)
    if (iequals(k, key)) return true;
  return false;
}

const PatternSet& PiiScanner::patterns() const { return impl_->core.set; }
const ScannerLimits& PiiScanner::limits() const { return impl_->core.limits; }
bool PiiScanner::database_from_cache() const { return impl_->core.from_cache; }

std::vector<Finding> PiiScanner::scan(std::string_view text) const {
  if (!needs_normalization(text)) return scan_view(text);
  // Detection reads the normalized view; findings are reported over the
  // original bytes that produced them.
  NormalizedText view(text);
  std::vector<Finding> out = scan_view(view.text());
  for (Finding& f : out) to_original(view, text, f);
  return out;
}

std::vector<Finding> PiiScanner::scan_key(std::string_view key) const {
  if (key.size() > kKeyCacheLen) return scan(key);
  const std::uint64_t serial = impl_->core.serial;
  KeyCache& cache = tls_keys;
  if (cache.clean(serial, key)) return {};
  std::vector<Finding> f = scan(key);
  if (f.empty()) cache.remember(serial, key);
  return f;
}

void PiiScanner::scan_each(std::string_view text, const FindingSink& sink, std::size_t hold) const {
  hold = std::max<std::size_t>(hold, 1);
  if (impl_->core.stream_lookback == SIZE_MAX) {  // no bound: all of them, then in batches
    std::vector<Finding> all = scan(text);
    for (std::size_t i = 0; i < all.size(); i += hold)
      sink(std::span<Finding>(all).subspan(i, std::min(hold, all.size() - i)));
    return;
  }
  std::optional<NormalizedText> view;
  if (needs_normalization(text)) view.emplace(text);
  FindingStream s{sink, view ? &*view : nullptr, text, impl_->core.stream_lookback, hold, {}};
  const std::string_view seen = view ? view->text() : text;
  std::vector<Finding> held;
  const bool apart = seen.empty() || scan_raw(seen, held, &s);
  s.release(held, SIZE_MAX, apart);
}

std::optional<Finding> PiiScanner::scan_number(std::string_view d) const {
  // Every numeric recognizer needs 7+ digits; uint64 has 20.
  if (d.size() < 7 || d.size() > 20) return std::nullopt;
  for (char ch : d)
    if (!is_digit(ch)) return std::nullopt;
  auto whole = [&](std::string_view type, double conf, std::string_view detail,
                   std::string normalized) -> std::optional<Finding> {
    if (conf < impl_->core.limits.min_confidence) return std::nullopt;
    return Finding{type, 0, d.size(), conf, detail, std::move(normalized)};
  };
  std::vector<Finding> f = scan_view(d);
  if (!f.empty()) {
    auto best = std::max_element(f.begin(), f.end(), [](const Finding& a, const Finding& b) {
      return type_priority(a.type) < type_priority(b.type);
    });
    return whole(best->type, best->confidence, best->detail, "");
  }
  // A Korean mobile number that lost its leading 0 (1012345678).
  if (d.size() == 10 && d.starts_with("10"))
    return whole(pii::kPhone, 0.6, "kr_mobile, as a number", "0" + std::string(d));
  // +82 10-... without the '+' (821012345678).
  if (d.size() == 12 && d.starts_with("8210"))
    return whole(pii::kPhone, 0.7, "kr_mobile, as a number", "+" + std::string(d));
  // An RRN of someone born in 2000-2009 that lost its leading 0; without
  // separators or the 0 only a valid checksum makes it more than a number.
  if (d.size() == 12) {
    std::string r = "0" + std::string(d);
    if (check::check_rrn(r) == check::RrnResult::kValid)
      return whole(pii::kRrn, 0.7, "checksum valid, as a number", std::move(r));
  }
  return std::nullopt;
}

std::vector<Finding> PiiScanner::scan_view(std::string_view text) const {
  std::vector<Finding> out;
  if (text.empty()) return out;
  // The recognizers nearly always report findings in order and apart
  // (ScanCtx::push checks it as they come): then `out` is the result.
  if (!scan_raw(text, out)) out = resolve(std::move(out));
  return out;
}

bool PiiScanner::scan_raw(std::string_view text, std::vector<Finding>& out,
                          FindingStream* stream) const {
  const Core& im = impl_->core;
  ThreadScratch& ts = tls_scratch;
  if (std::find(ts.ready.begin(), ts.ready.end(), im.serial) == ts.ready.end()) {
    bool ok = !im.db || hs_alloc_scratch(im.db.get(), &ts.s) == HS_SUCCESS;
    if (ok && im.db_ascii) ok = hs_alloc_scratch(im.db_ascii.get(), &ts.s) == HS_SUCCESS;
    if (ok && im.tails) ok = hs_alloc_scratch(im.tails.get(), &ts.s) == HS_SUCCESS;
    if (!ok) {
      out.push_back(Finding{pii::kOverflow, 0, 0, 1.0, "scratch allocation failed", {}});
      return true;
    }
    if (ts.ready.size() >= 64) ts.ready.clear();
    ts.ready.push_back(im.serial);
  }
  const hs_database_t* db = im.db.get();
  // Vectorscan leaves UTF-8 patterns undefined on invalid UTF-8: scan such
  // input with the database that lacks them.
  if (im.has_utf8 && !valid_utf8(text)) {
    db = im.db_ascii.get();
    if (!db) {
      out.push_back(Finding{pii::kOverflow, 0, 0, 1.0, "invalid UTF-8 not examined", {}});
      return true;
    }
  }
  std::size_t len = text.size();
  bool truncated = false;
  if (len > UINT_MAX) {
    len = UINT_MAX;
    truncated = true;
  }
  ScanCtx c{&im, &im.info, text.data(), text.size(), &out, {}};
  c.cap = im.limits.max_findings;
  if (stream) {
    c.stream = stream;
    c.flush_at = stream->hold;
    c.first_reserve = 2 * stream->hold;
  }
  if (!im.native_number && !im.native_ipv6 && !im.native_email) c.native_pos = SIZE_MAX;
  if (db) hs_scan(db, text.data(), static_cast<unsigned>(len), 0, ts.s, on_match, &c);
  if (!c.overflow && c.native_pos < len) native_scan(c, len);
  if (!c.custom.empty()) {
    std::sort(c.custom.begin(), c.custom.end(), [](const CustomCand& a, const CustomCand& b) {
      if (a.idx != b.idx) return a.idx < b.idx;
      if (a.from != b.from) return a.from < b.from;
      return a.to > b.to;
    });
    std::uint32_t cur = UINT32_MAX;
    std::size_t last_end = 0;
    for (const auto& cand : c.custom) {
      if (cand.idx != cur) {
        cur = cand.idx;
        last_end = 0;
      }
      if (cand.from < last_end && last_end) continue;
      const CustomPattern& cp = im.set.custom[cand.idx];
      // Python's \b: word characters are [A-Za-z0-9_] and (roughly) all non-ASCII letters.
      auto wordy = [&](std::size_t i) {
        return is_word(text[i]) || static_cast<unsigned char>(text[i]) >= 0x80;
      };
      auto boundary = [&](std::size_t i) {
        bool l = i > 0 && wordy(i - 1), r = i < text.size() && wordy(i);
        return l != r;
      };
      if (cp.word_start && !boundary(cand.from)) continue;
      if (cp.word_end && !boundary(cand.to)) continue;
      if (!cp.lookahead.empty()) {
        TailCtx tc{cand.idx};
        std::size_t win = std::min<std::size_t>(text.size() - cand.to, 4096);
        hs_scan(im.tails.get(), text.data() + cand.to, static_cast<unsigned>(win), 0, ts.s, on_tail,
                &tc);
        if (!tc.found) continue;
      }
      last_end = std::max(cand.to, cand.from + 1);
      if (!c.emit(im.custom_names[cand.idx], cand.from, cand.to, cp.confidence, "custom pattern"))
        break;
    }
  }
  if (truncated && !c.overflow) {
    c.overflow = true;
    c.overflow_at = len;
  }
  if (c.overflow)
    c.push(Finding{pii::kOverflow, c.overflow_at, c.overflow_at, 1.0,
                   "scan stopped at the findings cap or the size limit", {}});
  return c.apart;
}

}  // namespace bastion::pii
