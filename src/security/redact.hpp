// Keeps secret values out of logs and error messages: every value the
// secrets store hands to an upstream is registered here, and every log line
// (through redacting_sink) and relayed error is scrubbed of them.
//
// Thread-safety: Redactor is safe to use concurrently; redact() takes a
// shared lock and costs one branch while nothing is registered.
#pragma once

#include <spdlog/sinks/sink.h>

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::security {

class Redactor {
 public:
  static Redactor& global();

  // Values shorter than 4 bytes are not registered (they would scrub
  // ordinary text); such secrets are too weak to protect anyway.
  void add(std::string value);
  bool empty() const { return count_.load(std::memory_order_acquire) == 0; }
  // `text` with every registered value replaced by "***".
  std::string redact(std::string_view text) const;
  // True when `text` contains a registered value.
  bool contains_secret(std::string_view text) const;

 private:
  mutable std::shared_mutex mu_;
  std::vector<std::string> values_;  // longest first, so overlaps redact fully
  std::atomic<std::size_t> count_{0};
};

// A sink that redacts each message, then hands it to `inner`.
std::shared_ptr<spdlog::sinks::sink> redacting_sink(std::shared_ptr<spdlog::sinks::sink> inner,
                                                    const Redactor& redactor = Redactor::global());

}  // namespace bastion::security
