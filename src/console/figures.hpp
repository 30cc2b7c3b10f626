// The Overview page's figures, from the process's own metrics (the text
// /metrics serves, metrics/metrics.hpp): totals now, and a short history of
// samples so the page can chart rates without a time-series database.
//
//   Figures f = read_figures(metrics::Metrics::global().render());
//   history.add(now, f);                 // at most once per `every`
//   boost::json::object o = history.to_json();
//
// Latency percentiles are estimated from the histogram buckets (the upper
// bound of the bucket the percentile falls in), over the requests between two
// samples, or since start for the first one.
//
// Thread-safety: read_figures is pure; History is safe to use concurrently.
#pragma once

#include <array>
#include <boost/json.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::console {

struct Figures {
  double requests = 0;  // bastion_mcp_requests_total, all methods
  double errors = 0;    // ... outcome="error"
  double sessions = 0;  // bastion_sessions
  // bastion_mcp_request_duration_seconds, all methods: cumulative counts per
  // upper bound (+Inf last).
  std::vector<std::pair<double, double>> buckets;
  std::map<std::string, double> pii_by_type;  // bastion_pii_findings_total by type
};

Figures read_figures(std::string_view prometheus_text);

// The `q` quantile (0..1) of the requests counted by `now` minus `before`
// (cumulative buckets): the upper bound of its bucket, in seconds; 0 when no
// request was counted; the largest finite bound when it lies above them.
double quantile(const std::vector<std::pair<double, double>>& now,
                const std::vector<std::pair<double, double>>& before, double q);

class History {
 public:
  explicit History(std::size_t capacity = 120, std::int64_t every_ms = 2000)
      : capacity_(capacity), every_ms_(every_ms) {}
  // Records a sample unless the last one is younger than `every_ms`.
  void add(std::int64_t now_ms, const Figures& f);
  // {"now": {...totals...}, "series": [{t, rps, eps, p50, p95, p99, pii:{type:n}}...]}
  boost::json::object to_json() const;

 private:
  struct Sample {
    std::int64_t t = 0;
    Figures f;
  };
  std::size_t capacity_;
  std::int64_t every_ms_;
  mutable std::mutex mu_;
  std::deque<Sample> samples_;
};

}  // namespace bastion::console
