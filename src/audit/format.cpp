// The audit log's on-disk format: record parsing, checkpoint message, names.
#include "audit/format.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

#include "protocol/iso8601.hpp"

namespace bastion::audit {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string signed_message(std::string_view key_id, std::uint64_t tree_size, std::string_view root,
                           std::string_view head) {
  return fmt::format("bastion-audit-checkpoint/v1\n{}\n{}\n{}\n{}\n", key_id, tree_size, root,
                     head);
}

std::string compute_key_id(std::string_view pk) {
  auto h = merkle::sha256(pk);
  return "ak_" + merkle::to_hex(h).substr(0, 16);
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::optional<json::object> parse_record(std::string_view line) {
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::optional<std::uint64_t> get_u64(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  return std::nullopt;
}

std::string get_str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool is_checkpoint(const json::object& o) { return get_str(o, "event_type") == kCheckpoint; }

std::optional<merkle::CompactRange> range_of(const json::object& cp) {
  auto size = get_u64(cp, "tree_size");
  auto* r = cp.if_contains("range");
  if (!size || !r || !r->is_array()) return std::nullopt;
  std::vector<merkle::Hash> hashes;
  for (const auto& h : r->get_array()) {
    if (!h.is_string()) return std::nullopt;
    auto x = merkle::from_hex(h.get_string());
    if (!x) return std::nullopt;
    hashes.push_back(*x);
  }
  return merkle::CompactRange::restore(*size, std::move(hashes));
}

std::string rotated_name(std::uint64_t first_seq) {
  return fmt::format("audit-{:012}.log", first_seq);
}

std::optional<std::uint64_t> rotated_first_seq(const fs::path& file) {
  auto n = file.filename().string();
  if (n.size() != 22 || n.rfind("audit-", 0) != 0 || n.substr(18) != ".log") return std::nullopt;
  std::uint64_t v = 0;
  for (char c : n.substr(6, 12)) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::string now_iso8601() { return protocol::iso8601_utc_ms(std::chrono::system_clock::now()); }

std::string_view StampText::format(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(t);
  const auto s = floor<seconds>(ms);
  const auto millis = static_cast<int>((ms - s).count());  // 0..999, also before 1970
  // YYYY-MM-DDTHH:MM:SS.mmmZ: only the milliseconds change within a second.
  constexpr std::size_t kMillisAt = 20;
  if (text_.size() != kMillisAt + 4 || s.time_since_epoch().count() != second_) {
    text_ = protocol::iso8601_utc_ms(t);
    second_ = s.time_since_epoch().count();
    return text_;
  }
  text_[kMillisAt] = static_cast<char>('0' + millis / 100);
  text_[kMillisAt + 1] = static_cast<char>('0' + millis / 10 % 10);
  text_[kMillisAt + 2] = static_cast<char>('0' + millis % 10);
  return text_;
}

std::int64_t now_ms() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now())
      .time_since_epoch()
      .count();
}

std::optional<std::int64_t> parse_ts_ms(std::string_view ts) {
  // YYYY-MM-DDTHH:MM:SS[.mmm]Z, fixed width, as iso8601_utc(_ms) writes it.
  if (ts.size() != 20 && ts.size() != 24) return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (ts[i] < '0' || ts[i] > '9') return std::nullopt;
      v = v * 10 + (ts[i] - '0');
    }
    return v;
  };
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       s = num(17, 2);
  auto ms = ts.size() == 24 ? num(20, 3) : std::optional<int>(0);
  if (!y || !mo || !d || !h || !mi || !s || !ms || ts[4] != '-' || ts[7] != '-' || ts[10] != 'T' ||
      ts[13] != ':' || ts[16] != ':' || ts.back() != 'Z' || (ts.size() == 24 && ts[19] != '.') ||
      *h > 23 || *mi > 59 || *s > 60)
    return std::nullopt;
  using namespace std::chrono;
  const year_month_day ymd{year(*y), month(static_cast<unsigned>(*mo)),
                           day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  const auto t = sys_days(ymd) + hours(*h) + minutes(*mi) + seconds(*s) + milliseconds(*ms);
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

}  // namespace bastion::audit
