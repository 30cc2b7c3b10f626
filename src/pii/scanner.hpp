// PII scanner: finds personal data and secrets in UTF-8 text.
//
// One Vectorscan pass over the text finds cheap anchors for every recognizer
// at once ('@', the bytes of 님/씨, digit runs, 'AKIA', 'eyJ', '-----BEGIN ',
// secret key names, ...); C++ validators then expand each anchor into the
// candidate value and confirm or score it (Luhn, RRN date and checksum, IBAN
// mod-97, SSN ranges, inet_pton, surname lists). Work per anchor is bounded,
// so a scan is linear in the input, including invalid UTF-8 and hostile input.
//
// Thread-safety: a PiiScanner is immutable after construction; scan() may be
// called from any number of threads (each thread keeps its own Vectorscan
// scratch space).
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pii/patterns.hpp"

namespace bastion::pii {

// Type names of the built-in recognizers (custom patterns use their own name).
inline constexpr std::string_view kEmail = "email";
inline constexpr std::string_view kPhone = "phone";
inline constexpr std::string_view kKoreanName = "korean_name";
inline constexpr std::string_view kRrn = "rrn";  // Korean resident registration number
inline constexpr std::string_view kCreditCard = "credit_card";
inline constexpr std::string_view kIban = "iban";
inline constexpr std::string_view kSsn = "ssn";  // US social security number
inline constexpr std::string_view kIpv4 = "ipv4";
inline constexpr std::string_view kIpv6 = "ipv6";
inline constexpr std::string_view kAwsAccessKey = "aws_access_key";
inline constexpr std::string_view kAwsSecretKey = "aws_secret_key";
inline constexpr std::string_view kSecret = "secret";
inline constexpr std::string_view kBearerToken = "bearer_token";
inline constexpr std::string_view kJwt = "jwt";
inline constexpr std::string_view kPrivateKey = "private_key";
inline constexpr std::string_view kGithubToken = "github_token";
inline constexpr std::string_view kSlackToken = "slack_token";
// Reported once, at the end, when a scan hit ScannerLimits::max_findings:
// the rest of the text was not examined.
inline constexpr std::string_view kOverflow = "overflow";

// A finding's value as the recognizer read it, when that differs from the
// original bytes; usually there is none. One pointer, null when empty: a
// std::string member made every Finding 24 bytes larger and gave it a
// constructor and a destructor that cost more, on PII-dense text, than
// recognizing many of the values (a scan builds one Finding per value).
class NormalizedValue {
 public:
  NormalizedValue() = default;
  NormalizedValue(std::string s) { assign(std::move(s)); }  // NOLINT: implicit, like std::string
  NormalizedValue(const NormalizedValue& o) { assign(std::string_view(o)); }
  NormalizedValue& operator=(const NormalizedValue& o) {
    if (this != &o) assign(std::string_view(o));
    return *this;
  }
  NormalizedValue(NormalizedValue&&) noexcept = default;
  NormalizedValue& operator=(NormalizedValue&&) noexcept = default;
  NormalizedValue& operator=(std::string s) {
    assign(std::move(s));
    return *this;
  }

  void assign(std::string_view v) { assign(std::string(v)); }
  void assign(std::string s) {
    if (s.empty())
      s_.reset();
    else
      s_ = std::make_unique<std::string>(std::move(s));
  }
  bool empty() const { return !s_; }
  std::size_t size() const { return s_ ? s_->size() : 0; }
  const char* data() const { return s_ ? s_->data() : ""; }
  operator std::string_view() const { return s_ ? std::string_view(*s_) : std::string_view(); }
  friend bool operator==(const NormalizedValue& a, std::string_view b) {
    return std::string_view(a) == b;
  }
  friend std::ostream& operator<<(std::ostream& os, const NormalizedValue& v);

 private:
  std::unique_ptr<std::string> s_;
};

// `type` and `detail` view names that live as long as the process (the
// built-in names are constants; custom pattern names are interned once, see
// intern_name()), so a Finding can be kept, copied and moved freely, and
// making one allocates nothing.
struct Finding {
  std::string_view type;  // one of pii::k* or a custom pattern name
  std::size_t begin = 0;  // byte span [begin, end) in the scanned text
  std::size_t end = 0;
  double confidence = 0;    // 0..1
  std::string_view detail;  // e.g. "kr_mobile", "visa", "checksum not valid"; never the value
  // The value as the recognizer read it (normalized: NFKC, invisible
  // characters removed, dashes unified) when that differs from the original
  // bytes [begin, end); empty otherwise. Masking renders this form.
  NormalizedValue normalized;
};

struct ScannerLimits {
  // Findings kept per scan() call; past it the scan stops and reports one
  // pii::kOverflow finding so policies can refuse what was not examined.
  std::size_t max_findings = 100'000;
  // Findings below this confidence are dropped.
  double min_confidence = 0.5;
};

struct FindingStream;  // scan_each()'s state (scanner.cpp)

class PiiScanner {
 public:
  // Compiles the anchors and custom patterns into one Vectorscan database.
  // Throws PatternError (naming the pattern) when one does not compile.
  // With a `db_cache_dir`, the compiled databases are loaded from a cache
  // file there when one matches this pattern set, Vectorscan version and
  // platform, and stored there after compiling otherwise (pii/db_cache.hpp:
  // a damaged or foreign file is ignored and replaced, an unwritable
  // directory only costs the compile).
  explicit PiiScanner(PatternSet patterns = default_patterns(), ScannerLimits limits = {},
                      std::filesystem::path db_cache_dir = {});
  ~PiiScanner();
  PiiScanner(const PiiScanner&) = delete;
  PiiScanner& operator=(const PiiScanner&) = delete;

  // Non-overlapping findings sorted by begin, as byte spans of `utf8`.
  // Recognizers read the normalized view of the text (pii/normalize.hpp), so
  // full-width, invisible-character and dash-variant spellings are found;
  // text the view leaves unchanged is scanned as is. Allocates nothing when
  // the text holds no PII and needs no normalization. Never throws on any
  // input (bad_alloc aside).
  std::vector<Finding> scan(std::string_view utf8) const;

  // Receives scan_each()'s findings, a batch at a time (never an empty one);
  // it may move from them. It runs inside the scan: it must not throw, nor
  // scan on this thread (the thread's Vectorscan scratch is in use).
  using FindingSink = std::function<void(std::span<Finding>)>;

  // scan() of a JSON object's key. Keys are a schema's few names ("content",
  // "type", "text", "arguments", ...), the same in every message: a key of at
  // most kKeyCacheLen bytes that this thread found clean with this scanner
  // (scan() returned nothing) is remembered, by its bytes, and not scanned
  // again. A key with a finding, or a longer one, is scanned every time.
  // Always scan()'s result: a scan's findings depend only on the scanner and
  // the bytes. Values are not remembered (they are free text, and a value
  // under a secret-named key is found by its key, not by a scan).
  std::vector<Finding> scan_key(std::string_view key) const;
  static constexpr std::size_t kKeyCacheLen = 23;

  // scan()'s findings handed to `sink` as the scan goes: the same findings
  // (spans, types, details, confidences, normalized values) in the same
  // order, overlaps resolved and the cap applied as scan() does, while only
  // the findings near the scan's position are held (about a thousand on
  // PII-dense text) instead of all of them, so a report of a large text can
  // be written while its findings are still in cache. A batch is handed on
  // once no finding still to come can sort before it or overlap it: every
  // recognizer reports values that start at most kStreamLookback bytes (plus
  // the longest fixed-width anchor) before the place it was looking at, and
  // the places only move forward. A pattern set with custom patterns or an
  // anchor without a fixed width has no such bound (its matches may start
  // anywhere before their end); there the findings are all made, as by
  // scan(), and handed on in batches.
  // `hold`: how many findings it holds before it looks for ones to hand on
  // (any number from 1 gives the same findings; tests make it 1).
  void scan_each(std::string_view utf8, const FindingSink& sink,
                 std::size_t hold = kStreamHold) const;
  static constexpr std::size_t kStreamHold = 1024;
  // How far before the place a recognizer looks at its findings may start,
  // at most, for the built-in recognizers (the largest is a number token's
  // IBAN look-back, ~150 bytes); an anchor's fixed width adds to it.
  static constexpr std::size_t kStreamLookback = 4096;

  // A JSON number, given as the decimal digits of its integer value (no
  // sign): what scan() finds in those digits, else the forms a value takes
  // once a number type dropped its formatting — a Korean mobile without its
  // leading 0 (1012345678), +82 without the '+' (821012345678), an RRN of
  // someone born in 2000-2009 without its leading 0 (12 digits, checksum
  // valid). The finding covers all of `digits`; `normalized` holds the
  // restored form when there is one.
  std::optional<Finding> scan_number(std::string_view digits) const;

  // Whether `key` names a secret (patterns().secret_keys, ASCII case
  // ignored): a value under it is a secret as a whole. Only the names of the
  // key's length are compared.
  bool secret_key(std::string_view key) const;

  const PatternSet& patterns() const;
  const ScannerLimits& limits() const;
  // Whether the databases came from the cache (not compiled) at construction.
  bool database_from_cache() const;

 private:
  // scan() on text that is already its own normalized view.
  std::vector<Finding> scan_view(std::string_view text) const;
  // Its findings as they come, unresolved; true when they are in order and
  // apart (resolve_overlaps() would leave them as they are). With a
  // `stream`, findings it can no longer change are handed to it as the scan
  // goes and `out` holds only the rest.
  bool scan_raw(std::string_view text, std::vector<Finding>& out,
                FindingStream* stream = nullptr) const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A copy of `name` that lives until the process exits (one per distinct
// name): what Finding::type views for custom patterns. Thread-safe.
std::string_view intern_name(std::string_view name);

// Higher wins when findings overlap (then the longer, then the earlier).
int type_priority(std::string_view type);

// Keeps a non-overlapping subset: by priority, then length, then position.
// Returns it sorted by begin.
std::vector<Finding> resolve_overlaps(std::vector<Finding> findings);

}  // namespace bastion::pii
