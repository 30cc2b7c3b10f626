#include "console/figures.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace bastion::console {

namespace json = boost::json;

namespace {

// The value of label `name` in a rendered label list (`a="x",b="y"`).
std::string label(std::string_view labels, std::string_view name) {
  std::string key = std::string(name) + "=\"";
  std::size_t p = 0;
  while ((p = labels.find(key, p)) != std::string_view::npos) {
    if (p == 0 || labels[p - 1] == ',') {
      std::size_t start = p + key.size();
      std::string out;
      for (std::size_t i = start; i < labels.size(); ++i) {
        if (labels[i] == '\\' && i + 1 < labels.size()) {
          out += labels[++i];
        } else if (labels[i] == '"') {
          return out;
        } else {
          out += labels[i];
        }
      }
      return {};
    }
    p += key.size();
  }
  return {};
}

double number(std::string_view s) {
  if (s == "+Inf") return std::numeric_limits<double>::infinity();
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() ? v : 0;
}

}  // namespace

Figures read_figures(std::string_view text) {
  Figures f;
  std::map<double, double> buckets;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    if (sp == std::string_view::npos) continue;
    std::string_view series = line.substr(0, sp);
    double value = number(line.substr(sp + 1));
    std::string_view name = series, labels;
    if (auto b = series.find('{'); b != std::string_view::npos && series.back() == '}') {
      name = series.substr(0, b);
      labels = series.substr(b + 1, series.size() - b - 2);
    }
    if (name == "bastion_mcp_requests_total") {
      f.requests += value;
      if (label(labels, "outcome") == "error") f.errors += value;
    } else if (name == "bastion_sessions") {
      f.sessions = value;
    } else if (name == "bastion_mcp_request_duration_seconds_bucket") {
      buckets[number(label(labels, "le"))] += value;
    } else if (name == "bastion_pii_findings_total") {
      f.pii_by_type[label(labels, "type")] += value;
    }
  }
  f.buckets.assign(buckets.begin(), buckets.end());
  return f;
}

double quantile(const std::vector<std::pair<double, double>>& now,
                const std::vector<std::pair<double, double>>& before, double q) {
  auto count_at = [](const std::vector<std::pair<double, double>>& v, std::size_t i) {
    return i < v.size() ? v[i].second : 0.0;
  };
  bool same = before.size() == now.size();
  double total =
      now.empty() ? 0 : now.back().second - (same ? count_at(before, now.size() - 1) : 0);
  if (total <= 0) return 0;
  double rank = q * total;
  double largest_finite = 0;
  for (std::size_t i = 0; i < now.size(); ++i) {
    if (std::isfinite(now[i].first)) largest_finite = now[i].first;
    double c = now[i].second - (same ? count_at(before, i) : 0);
    if (c >= rank) return std::isfinite(now[i].first) ? now[i].first : largest_finite;
  }
  return largest_finite;
}

void History::add(std::int64_t now_ms, const Figures& f) {
  std::lock_guard lk(mu_);
  if (!samples_.empty() && now_ms - samples_.back().t < every_ms_) return;
  samples_.push_back({now_ms, f});
  while (samples_.size() > capacity_) samples_.pop_front();
}

json::object History::to_json() const {
  std::lock_guard lk(mu_);
  json::object out;
  json::array series;
  for (std::size_t i = 1; i < samples_.size(); ++i) {
    const auto& a = samples_[i - 1];
    const auto& b = samples_[i];
    double dt = std::max(1.0, static_cast<double>(b.t - a.t)) / 1000.0;
    json::object pii;
    for (const auto& [type, n] : b.f.pii_by_type) {
      double prev = a.f.pii_by_type.count(type) ? a.f.pii_by_type.at(type) : 0;
      pii[type] = std::max(0.0, n - prev);
    }
    series.push_back(json::object{{"t", b.t},
                                  {"rps", std::max(0.0, b.f.requests - a.f.requests) / dt},
                                  {"eps", std::max(0.0, b.f.errors - a.f.errors) / dt},
                                  {"p50", quantile(b.f.buckets, a.f.buckets, 0.5)},
                                  {"p95", quantile(b.f.buckets, a.f.buckets, 0.95)},
                                  {"p99", quantile(b.f.buckets, a.f.buckets, 0.99)},
                                  {"sessions", b.f.sessions},
                                  {"pii", std::move(pii)}});
  }
  out["series"] = std::move(series);
  if (!samples_.empty()) {
    const auto& f = samples_.back().f;
    json::object pii;
    for (const auto& [type, n] : f.pii_by_type) pii[type] = n;
    out["now"] = json::object{{"requests", f.requests},
                              {"errors", f.errors},
                              {"sessions", f.sessions},
                              {"p50", quantile(f.buckets, {}, 0.5)},
                              {"p95", quantile(f.buckets, {}, 0.95)},
                              {"p99", quantile(f.buckets, {}, 0.99)},
                              {"pii_by_type", std::move(pii)}};
  }
  return out;
}

}  // namespace bastion::console
