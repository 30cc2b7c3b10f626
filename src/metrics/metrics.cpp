#include "metrics/metrics.hpp"

#include <fmt/format.h>

#include <mutex>

namespace bastion::metrics {

Metrics& Metrics::global() {
  static Metrics m;
  return m;
}

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

template <class T>
T& Metrics::slot(std::map<std::string, std::map<std::string, std::unique_ptr<T>>>& m,
                 const std::string& name, const std::string& labels) {
  {
    std::shared_lock lk(mu_);
    auto it = m.find(name);
    if (it != m.end())
      if (auto jt = it->second.find(labels); jt != it->second.end()) return *jt->second;
  }
  std::unique_lock lk(mu_);
  auto& p = m[name][labels];
  if (!p) p = std::make_unique<T>();
  return *p;
}

void Metrics::Counter::add(double v) {
  double cur = value.load(std::memory_order_relaxed);
  while (!value.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

void Metrics::Histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
  buckets[i].fetch_add(1, std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
  double cur = sum.load(std::memory_order_relaxed);
  while (!sum.compare_exchange_weak(cur, cur + seconds, std::memory_order_relaxed)) {
  }
}

Metrics::Counter& Metrics::counter(const std::string& name, const std::string& labels) {
  return slot(counters_, name, labels);
}

Metrics::Histogram& Metrics::histogram(const std::string& name, const std::string& labels) {
  return slot(histograms_, name, labels);
}

void Metrics::add(const std::string& name, const std::string& labels, double v) {
  counter(name, labels).add(v);
}

void Metrics::observe(const std::string& name, const std::string& labels, double seconds) {
  histogram(name, labels).observe(seconds);
}

void Metrics::gauge(const std::string& name, std::string help,
                    std::function<std::vector<std::pair<std::string, double>>()> f) {
  std::unique_lock lk(mu_);
  gauges_[name] = {std::move(help), std::move(f)};
}

void Metrics::help(const std::string& name, std::string text) {
  std::unique_lock lk(mu_);
  help_[name] = std::move(text);
}

std::string Metrics::render() const {
  std::shared_lock lk(mu_);
  std::string out;
  auto head = [&](const std::string& name, const char* type) {
    if (auto it = help_.find(name); it != help_.end())
      out += fmt::format("# HELP {} {}\n", name, it->second);
    out += fmt::format("# TYPE {} {}\n", name, type);
  };
  auto with = [](const std::string& labels) {
    return labels.empty() ? std::string() : "{" + labels + "}";
  };
  for (const auto& [name, series] : counters_) {
    head(name, "counter");
    for (const auto& [labels, c] : series)
      out += fmt::format("{}{} {}\n", name, with(labels), c->value.load());
  }
  for (const auto& [name, series] : histograms_) {
    head(name, "histogram");
    for (const auto& [labels, h] : series) {
      std::uint64_t cum = 0;
      std::string sep = labels.empty() ? "" : ",";
      for (std::size_t i = 0; i <= kBuckets.size(); ++i) {
        cum += h->buckets[i].load();
        std::string le = i < kBuckets.size() ? fmt::format("{}", kBuckets[i]) : "+Inf";
        out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, le, cum);
      }
      out += fmt::format("{}_sum{} {}\n", name, with(labels), h->sum.load());
      out += fmt::format("{}_count{} {}\n", name, with(labels), h->count.load());
    }
  }
  for (const auto& [name, g] : gauges_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, g.first, name);
    for (const auto& [labels, v] : g.second())
      out += fmt::format("{}{} {}\n", name, with(labels), v);
  }
  return out;
}

}  // namespace bastion::metrics
