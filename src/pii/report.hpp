#pragma once
// `bastion pii scan`'s report of findings: one JSON object a finding,
// `{"type":T,"begin":B,"end":E,"confidence":C,"detail":D}` ("detail" only when
// there is one), a line each or (`as_array`) one array of them. Its own room
// because on PII-dense text writing the report costs as much as a third of
// the scan, and its speed comes from details worth a test of their own.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pii/scanner.hpp"

namespace bastion::pii {

// The decimal digits of `v` at `w`, which must have 20 bytes of room (the
// digits are stored 8 bytes at a time, so bytes past the last one may be
// overwritten): the pointer past the last digit. What std::to_chars writes,
// without its loop of divisions and its branches on the number of digits.
char* put_decimal(char* w, std::uint64_t v);

// Formats findings as PiiScanner::scan_each hands them on into a buffer
// written to `out` 256 KiB at a time. Once `out` fails (a reader that closed
// early, a full disk) the findings are only counted. Not thread-safe.
class FindingReport {
 public:
  FindingReport(std::ostream& out, bool as_array);
  ~FindingReport();
  FindingReport(const FindingReport&) = delete;
  FindingReport& operator=(const FindingReport&) = delete;

  void add(std::span<const Finding> findings);
  // What the buffer holds, and the array's end.
  void finish();
  std::size_t count() const { return count_; }

  static constexpr std::size_t kChunk = std::size_t{1} << 18;

 private:
  struct Shape;
  struct Key {
    const char* type;
    std::size_t type_len;
    const char* detail;
    std::size_t detail_len;
    std::uint64_t conf;  // the double's bits
  };
  static constexpr unsigned kIndexBits = 10;
  static constexpr std::size_t kMaxShapes = 512;

  static Key key_of(const Finding& f);
  std::size_t slot(const Key& k) const;
  [[gnu::always_inline]] inline const Shape& shape(const Finding& f);
  const Shape& add_shape(const Key& k, const Finding& f);
  void reindex();
  void make_room(std::size_t need);
  void flush();

  std::ostream& out_;
  bool as_array_;
  std::vector<std::unique_ptr<Shape>> shapes_;
  std::vector<Shape*> index_;
  std::uint64_t seed_;
  std::size_t size_;
  std::unique_ptr<char[]> buf_;
  char* w_;
  std::size_t count_ = 0;
  std::size_t sep_ = 0;  // 1 after an array's first finding: a comma before each line
  bool failed_ = false;
};

}  // namespace bastion::pii
