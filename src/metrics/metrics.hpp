// Process-wide metrics in the Prometheus text format: counters, gauges and
// fixed-bucket latency histograms keyed by a small, bounded label set.
// Thread-safe; recording is a map lookup under a shared lock plus atomics.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

namespace bastion::metrics {

class Metrics {
 public:
  static Metrics& global();

  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.5,    2.5};
  // One series; lives as long as the Metrics it came from.
  struct Counter {
    std::atomic<double> value{0};
    void add(double v = 1);
  };
  struct Histogram {
    std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets{};
    std::atomic<double> sum{0};
    std::atomic<std::uint64_t> count{0};
    void observe(double seconds);
  };

  // name{labels} += v. `labels` is the rendered label list, e.g.
  // method="tools/call",status="ok" (callers keep cardinality bounded).
  void add(const std::string& name, const std::string& labels, double v = 1);
  void observe(const std::string& name, const std::string& labels, double seconds);
  // The series itself, for a caller that records into it often: found once
  // and kept, its updates are atomics without a lookup or a lock.
  Counter& counter(const std::string& name, const std::string& labels);
  Histogram& histogram(const std::string& name, const std::string& labels);
  // Gauges computed when scraped.
  void gauge(const std::string& name, std::string help,
             std::function<std::vector<std::pair<std::string, double>>()> f);
  void help(const std::string& name, std::string text);

  std::string render() const;

 private:
  template <class T>
  T& slot(std::map<std::string, std::map<std::string, std::unique_ptr<T>>>& m,
          const std::string& name, const std::string& labels);

  mutable std::shared_mutex mu_;
  std::map<std::string, std::map<std::string, std::unique_ptr<Counter>>> counters_;
  std::map<std::string, std::map<std::string, std::unique_ptr<Histogram>>> histograms_;
  std::map<std::string,
           std::pair<std::string, std::function<std::vector<std::pair<std::string, double>>()>>>
      gauges_;
  std::map<std::string, std::string> help_;
};

// The series in `slot`, looked up (`lookup()`, which returns a pointer to
// it) the first time and kept: for a caller that records into the same
// series often. Two threads may both look it up first: the same series.
template <class T, class Lookup>
T& kept(std::atomic<T*>& slot, Lookup lookup) {
  T* p = slot.load(std::memory_order_acquire);
  if (!p) slot.store(p = lookup(), std::memory_order_release);
  return *p;
}

// Escapes a label value for the exposition format.
std::string label_value(std::string_view v);

}  // namespace bastion::metrics
