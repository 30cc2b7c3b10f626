#include "pii/mask.hpp"

#include <algorithm>

namespace bastion::pii {

namespace {

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// Appends `v` with every digit starred except those at digit indices
// [0, keep_head) and the last `keep_tail` digits; separators and '+' stay.
void star_digits(std::string& out, std::string_view v, std::size_t keep_head,
                 std::size_t keep_tail) {
  std::size_t total = std::count_if(v.begin(), v.end(), is_ascii_digit);
  const std::size_t at = out.size();
  out.append(v);
  std::size_t idx = 0;
  for (std::size_t i = at; i < out.size(); ++i) {
    if (!is_ascii_digit(out[i])) continue;
    if (idx >= keep_head && idx + keep_tail < total) out[i] = '*';
    ++idx;
  }
}

std::size_t leading_digits(std::string_view v) {
  std::size_t i = 0;
  if (i < v.size() && v[i] == '+') ++i;
  std::size_t start = i;
  while (i < v.size() && is_ascii_digit(v[i])) ++i;
  return i - start;
}

}  // namespace

void append_masked(std::string& out, std::string_view type, std::string_view v,
                   const MaskOptions& o) {
  auto redact = [&] {
    out += "[REDACTED:";
    out += type;
    out += ']';
  };
  for (const auto& t : o.redact_types)
    if (t == type) return redact();
  if (type == pii::kEmail) {
    auto at = v.rfind('@');
    if (!o.keep_email_domain || at == std::string_view::npos) return redact();
    out += "***";
    out += v.substr(at);
    return;
  }
  if (type == pii::kPhone) {
    std::size_t head = leading_digits(v);
    std::size_t total = std::count_if(v.begin(), v.end(), is_ascii_digit);
    if (head == total) head = std::min<std::size_t>(3, total);  // no separators
    if (head + 4 >= total) head = total > 4 ? total - 4 - 1 : 0;
    return star_digits(out, v, head, 4);
  }
  if (type == pii::kCreditCard) return star_digits(out, v, 0, 4);
  if (type == pii::kRrn) return star_digits(out, v, 7, 0);
  if (type == pii::kSsn) return star_digits(out, v, 0, 4);
  if (type == pii::kKoreanName) {
    // First syllable stays, every following character becomes one '*'.
    std::size_t first = 1;
    if (!v.empty() && (static_cast<unsigned char>(v[0]) & 0xE0) == 0xE0) first = 3;
    first = std::min(first, v.size());
    out += v.substr(0, first);
    for (std::size_t i = first; i < v.size(); ++i)
      if ((static_cast<unsigned char>(v[i]) & 0xC0) != 0x80) out += '*';
    return;
  }
  redact();
}

std::string mask_value(std::string_view type, std::string_view v, const MaskOptions& o) {
  std::string out;
  append_masked(out, type, v, o);
  return out;
}

std::string replace_findings(
    std::string_view text, std::span<const Finding> findings,
    const std::function<std::string(const Finding&, std::string_view)>& replace) {
  bool sorted_disjoint = true;
  for (std::size_t i = 1; i < findings.size(); ++i)
    sorted_disjoint &= findings[i - 1].end <= findings[i].begin;
  std::vector<Finding> resolved;
  if (!sorted_disjoint) {
    resolved = resolve_overlaps(std::vector<Finding>(findings.begin(), findings.end()));
    findings = resolved;
  }
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (const auto& f : findings) {
    if (f.begin < pos || f.end > text.size() || f.begin >= f.end) continue;
    out.append(text.substr(pos, f.begin - pos));
    out += replace(f, text.substr(f.begin, f.end - f.begin));
    pos = f.end;
  }
  out.append(text.substr(pos));
  return out;
}

std::string mask_text(std::string_view text, std::span<const Finding> findings,
                      const MaskOptions& options) {
  return replace_findings(text, findings, [&](const Finding& f, std::string_view v) {
    return mask_value(f.type, f.normalized.empty() ? v : std::string_view(f.normalized), options);
  });
}

}  // namespace bastion::pii
