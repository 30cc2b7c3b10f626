// The signed head file (see head.hpp).
#include "audit/head.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cstdio>

#include "audit/format.hpp"

namespace bastion::audit {

namespace json = boost::json;

namespace {

constexpr std::size_t kLegacyHeadBytes = 20 + 1 + 64 + 1;

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

std::optional<std::string> HeadWindow::add(std::uint64_t seq, std::string_view ts) {
  auto t = parse_ts_ms(ts);
  if (!t || *t >= started_) return std::nullopt;
  const std::int64_t limit = unsigned_span_limit_ms(head_.interval_ms);
  if (oldest_ && *t - oldest_->first > limit)
    return fmt::format(
        "the signed head is older than the log it ends: record seq {} is stamped {} ms after "
        "record seq {}, and both come after the head (seq {}, signed {}), but a writer signs the "
        "head before the records after it span more than {} ms (its sign interval, {} ms, + {} "
        "ms); records were cut from the end and an older copy of audit.log.head put back",
        seq, *t - oldest_->first, oldest_->second, head_.seq, head_.ts, limit, head_.interval_ms,
        kUnsignedSpanSlackMs);
  if (!oldest_ || *t < oldest_->first) oldest_ = {*t, seq};
  return std::nullopt;
}

std::string head_message(const Head& h, std::string_view fingerprint) {
  return fmt::format("bastion-audit-head/v1\n{}\n{}\n{}\n{}\n{}\n{}\n", fingerprint, h.seq, h.hash,
                     h.ts, h.shutdown ? "shutdown" : "running", h.interval_ms);
}

std::string format_head(const Head& h) {
  std::string s = json::serialize(json::object{{"seq", h.seq},
                                               {"hash", h.hash},
                                               {"ts", h.ts},
                                               {"state", h.shutdown ? "shutdown" : "running"},
                                               {"interval_ms", h.interval_ms},
                                               {"key_id", h.key_id},
                                               {"sig", h.sig}});
  // Every field is bounded (ts and key_id are ours), so it always fits.
  s.resize(kHeadFileBytes - 1, ' ');
  s += '\n';
  return s;
}

std::optional<Head> parse_head(std::string_view text) {
  Head h;
  if (text.size() == kLegacyHeadBytes && text.back() == '\n') {
    unsigned long long seq = 0;
    char hex[65] = {};
    std::string t(text);
    if (std::sscanf(t.c_str(), "%20llu %64s", &seq, hex) != 2 || !is_hex64(hex))
      return std::nullopt;
    h.seq = seq;
    h.hash = hex;
    h.legacy = true;
    return h;
  }
  if (text.size() != kHeadFileBytes || text.back() != '\n') return std::nullopt;
  auto o = parse_record(text.substr(0, text.find_last_not_of(" \n") + 1));
  if (!o) return std::nullopt;
  auto seq = get_u64(*o, "seq");
  auto interval = get_u64(*o, "interval_ms");
  std::string state = get_str(*o, "state");
  h.hash = get_str(*o, "hash");
  h.ts = get_str(*o, "ts");
  h.key_id = get_str(*o, "key_id");
  h.sig = get_str(*o, "sig");
  if (!seq || !interval || !is_hex64(h.hash) || h.ts.empty() || h.sig.empty() ||
      (state != "running" && state != "shutdown"))
    return std::nullopt;
  h.seq = *seq;
  h.interval_ms = *interval;
  h.shutdown = state == "shutdown";
  return h;
}

}  // namespace bastion::audit
