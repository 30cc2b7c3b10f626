#include "pii/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <boost/json.hpp>
#include <charconv>
#include <cstring>
#include <utility>

namespace bastion::pii {

namespace json = boost::json;

namespace {

// The four ASCII digits of every number below 10^4, as the bytes of a
// little-endian word: 8 digits are two look-ups (40 KB, in L2 at worst)
// and one division by a constant.
struct Quads {
  std::uint32_t q[10000];
};
constexpr Quads make_quads() {
  Quads t{};
  for (std::uint32_t i = 0; i < 10000; ++i)
    t.q[i] = (('0' + i / 1000) | ('0' + i / 100 % 10) << 8 | ('0' + i / 10 % 10) << 16 |
              ('0' + i % 10) << 24);
  return t;
}
constexpr Quads kQuads = make_quads();

// The 8 ASCII digits of v < 10^8, leading zeros included, the first in the
// lowest byte.
[[gnu::always_inline]] inline std::uint64_t digits8(std::uint64_t v) {
  return kQuads.q[v / 10000] | (std::uint64_t{kQuads.q[v % 10000]} << 32);
}

// How many digits v has: numbers of one bit width have the digits of the
// smallest of them, or one more (no width spans two powers of 10).
struct DigitCount {
  std::uint8_t by_width[65];
  std::uint64_t pow10[21];
};
constexpr DigitCount make_digit_count() {
  DigitCount t{};
  t.pow10[0] = 1;
  for (int i = 1; i < 20; ++i) t.pow10[i] = t.pow10[i - 1] * 10;
  t.pow10[20] = ~std::uint64_t{0};  // never reached: 20 digits is the most
  t.by_width[0] = 1;
  for (int w = 1; w <= 64; ++w) {
    const std::uint64_t least = std::uint64_t{1} << (w - 1);
    int n = 1;
    while (n < 20 && least >= t.pow10[n]) ++n;
    t.by_width[w] = static_cast<std::uint8_t>(n);
  }
  return t;
}
constexpr DigitCount kDigitCount = make_digit_count();

[[gnu::always_inline]] inline int digit_count(std::uint64_t v) {
  const int n = kDigitCount.by_width[std::bit_width(v)];
  return n + (v >= kDigitCount.pow10[n]);
}

// v < 10^8 without its leading zeros (0 is "0"), stored as 8 bytes: the
// bytes past the digits are overwritten by what is written next. No loop
// and no branch on the number of digits (std::to_chars has both), and the
// count does not wait for the digits: the place of each piece of a report
// depends on every number before it.
[[gnu::always_inline]] inline char* put_short(char* w, std::uint64_t v) {
  const int n = digit_count(v);
  const std::uint64_t x = digits8(v) >> (8 * (8 - n));
  std::memcpy(w, &x, 8);
  return w + n;
}

[[gnu::always_inline]] inline char* put_decimal_inline(char* w, std::uint64_t v) {
  if constexpr (std::endian::native != std::endian::little) {
    return std::to_chars(w, w + 20, v).ptr;
  } else {
    if (v < 100'000'000) [[likely]]
      return put_short(w, v);
    if (v >= 10'000'000'000'000'000) return std::to_chars(w, w + 20, v).ptr;
    w = put_short(w, v / 100'000'000);
    const std::uint64_t low = digits8(v % 100'000'000);  // all 8, zeros too
    std::memcpy(w, &low, 8);
    return w + 8;
  }
}

// The first kHead bytes of a line's piece before `begin` and kTail of its
// piece after `end` are copied whole, 16 bytes at a time, whatever their
// length: no loop whose count changes with the finding's type, a branch
// that PII-dense text, whose types alternate, would often send the wrong
// way. A longer piece is copied by a loop.
constexpr std::size_t kHead = 32, kTail = 64;

}  // namespace

char* put_decimal(char* w, std::uint64_t v) { return put_decimal_inline(w, v); }

// A (type, detail, confidence) triple's text before `begin` and after `end`,
// rendered once (JSON strings, fmt's shortest double), each padded with
// zeros to a multiple of 16 bytes and at least kHead or kTail.
struct FindingReport::Shape {
  Key key;
  std::string head, tail;
  std::size_t head_len = 0, tail_len = 0;
  // What writing a line may touch: a comma, the padded pieces, ",\"end\":"
  // (an 8-byte store) and two numbers (up to 20 bytes each).
  std::size_t room = 0;
};

namespace {

template <std::size_t kFixed>
[[gnu::always_inline]] inline char* copy_piece(char* w, const std::string& padded,
                                               std::size_t len) {
  const char* p = padded.data();
  if (padded.size() == kFixed) [[likely]] {
    [&]<std::size_t... i>(std::index_sequence<i...>) {
      (std::memcpy(w + 16 * i, p + 16 * i, 16), ...);  // straight-line, not a loop
    }
    (std::make_index_sequence<kFixed / 16>());
  } else {
    for (std::size_t i = 0; i < padded.size(); i += 16) std::memcpy(w + i, p + i, 16);
  }
  return w + len;
}

bool same(const auto& a, const auto& b) {
  return ((reinterpret_cast<std::uintptr_t>(a.type) ^ reinterpret_cast<std::uintptr_t>(b.type)) |
          (a.type_len ^ b.type_len) |
          (reinterpret_cast<std::uintptr_t>(a.detail) ^
           reinterpret_cast<std::uintptr_t>(b.detail)) |
          (a.detail_len ^ b.detail_len) | (a.conf ^ b.conf)) == 0;
}

}  // namespace

FindingReport::FindingReport(std::ostream& out, bool as_array)
    : out_(out),
      as_array_(as_array),
      index_(std::size_t{1} << kIndexBits, nullptr),
      seed_(0x9E3779B97F4A7C15ULL),
      size_(kChunk + 4096),
      // Not zeroed: a page is touched when a line is first written to it
      // (the report of a text without findings touches none).
      buf_(new char[size_]),
      w_(buf_.get()) {
  if (as_array_) *w_++ = '[';
}

FindingReport::~FindingReport() = default;

FindingReport::Key FindingReport::key_of(const Finding& f) {
  return {f.type.data(), f.type.size(), f.detail.data(), f.detail.size(),
          std::bit_cast<std::uint64_t>(f.confidence)};
}

std::size_t FindingReport::slot(const Key& k) const {
  const std::uint64_t h = (reinterpret_cast<std::uintptr_t>(k.type) * 0x9E3779B97F4A7C15ULL) ^
                          (reinterpret_cast<std::uintptr_t>(k.detail) * 0xC2B2AE3D27D4EB4FULL) ^
                          k.conf ^ k.type_len ^ (std::uint64_t{k.detail_len} << 32);
  return static_cast<std::size_t>((h * seed_) >> (64 - kIndexBits));
}

// Keyed by the views' addresses (the names are constants) and the
// confidence's bits. Every triple has a slot of its own (reindex), so a
// line costs one look-up and no branch that depends on the triple: the
// open addressing this replaces probed further for some triples, in some
// runs (where the binary is loaded decides), every few lines.
const FindingReport::Shape& FindingReport::shape(const Finding& f) {
  const Key k = key_of(f);
  const Shape* s = index_[slot(k)];
  if (s && same(s->key, k)) [[likely]]
    return *s;
  return add_shape(k, f);
}

void FindingReport::add(std::span<const Finding> findings) {
  count_ += findings.size();
  if (failed_) return;
  // In locals: a store through a char* may alias any member, so the
  // compiler would read each member back after every piece.
  char* w = w_;
  char* end = buf_.get() + size_;
  char* full = buf_.get() + kChunk;
  std::size_t sep = sep_;
  const std::size_t next_sep = as_array_;
  for (const Finding& f : findings) {
    const Shape& s = shape(f);
    if (static_cast<std::size_t>(end - w) < s.room) [[unlikely]] {
      w_ = w;
      make_room(s.room);
      w = w_;
      end = buf_.get() + size_;
      full = buf_.get() + kChunk;
    }
    *w = ',';
    w += sep;
    sep = next_sep;
    w = copy_piece<kHead>(w, s.head, s.head_len);
    w = put_decimal_inline(w, f.begin);
    std::memcpy(w, ",\"end\":", 8);  // with its NUL, overwritten next
    w += 7;
    w = put_decimal_inline(w, f.end);
    w = copy_piece<kTail>(w, s.tail, s.tail_len);
    if (w >= full) {
      w_ = w;
      flush();
      w = w_;
      if (failed_) break;
    }
  }
  w_ = w;
  sep_ = sep;
}

void FindingReport::finish() {
  if (as_array_) {
    if (static_cast<std::size_t>(buf_.get() + size_ - w_) < 2) make_room(2);
    *w_++ = ']';
    *w_++ = '\n';
  }
  flush();
}

const FindingReport::Shape& FindingReport::add_shape(const Key& k, const Finding& f) {
  for (const auto& s : shapes_)  // one that reindex() found no slot of its own for
    if (same(s->key, k)) return *s;
  if (shapes_.size() == kMaxShapes) {  // many custom names: start over
    shapes_.clear();
    std::fill(index_.begin(), index_.end(), nullptr);
  }
  auto s = std::make_unique<Shape>();
  s->key = k;
  std::string head =
      fmt::format("{{\"type\":{},\"begin\":", json::serialize(json::string_view(f.type)));
  std::string tail = fmt::format(",\"confidence\":{}", f.confidence);
  if (!f.detail.empty())
    tail += fmt::format(",\"detail\":{}", json::serialize(json::string_view(f.detail)));
  tail += as_array_ ? "}" : "}\n";
  s->head_len = head.size();
  s->tail_len = tail.size();
  head.resize(std::max(kHead, (head.size() + 15) / 16 * 16), '\0');
  tail.resize(std::max(kTail, (tail.size() + 15) / 16 * 16), '\0');
  s->head = std::move(head);
  s->tail = std::move(tail);
  s->room = 1 + s->head.size() + 20 + 8 + 20 + s->tail.size();
  Shape* added = shapes_.emplace_back(std::move(s)).get();
  Shape*& home = index_[slot(k)];
  if (!home)
    home = added;
  else
    reindex();
  return *added;
}

// Another multiplier until every shape has a slot of its own (a scan has a
// few dozen triples in 1,024 slots: a few tries). Should none be found, a
// slot keeps its first shape and the others are found by add_shape's search.
void FindingReport::reindex() {
  for (int tries = 0; tries < 64; ++tries) {
    seed_ = (seed_ * 6364136223846793005ULL + 1442695040888963407ULL) | 1;
    std::fill(index_.begin(), index_.end(), nullptr);
    bool apart = true;
    for (const auto& s : shapes_) {
      Shape*& e = index_[slot(s->key)];
      if (e) {
        apart = false;
        break;
      }
      e = s.get();
    }
    if (apart) return;
  }
  std::fill(index_.begin(), index_.end(), nullptr);
  for (const auto& s : shapes_)
    if (Shape*& e = index_[slot(s->key)]; !e) e = s.get();
}

// Room for `need` bytes past the write position: what the buffer holds is
// written first, and a buffer too small for them is replaced.
void FindingReport::make_room(std::size_t need) {
  flush();
  if (need > size_) {
    size_ = kChunk + need;
    buf_.reset(new char[size_]);
    w_ = buf_.get();
  }
}

void FindingReport::flush() {
  if (!failed_ && w_ != buf_.get()) {
    out_.write(buf_.get(), w_ - buf_.get());
    failed_ = !out_;
  }
  w_ = buf_.get();
}

}  // namespace bastion::pii
