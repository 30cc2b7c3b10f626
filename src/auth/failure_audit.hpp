// Failed authentications in the audit log without letting anyone grow it at
// will: per (event type, client, source) and interval, the first failure is
// recorded at once (so an alert fires without delay) and the rest are only
// counted; when the interval ends one more record carries that count, by
// error. So a flood costs at most two records per client, source and
// interval. The number of keys per interval is bounded: beyond it, failures
// fold into one record per event type with client and source "*".
//
// Thread-safety: all members may be called concurrently; the sink is called
// without the lock held.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "auth/options.hpp"

namespace bastion::auth {

class FailureAudit {
 public:
  using Sink = std::function<bool(boost::json::object)>;

  FailureAudit(std::chrono::seconds interval, std::size_t max_keys = 4096,
               Clock clock = system_now);
  void set_sink(Sink sink);

  // One failure: `event` has at least event_type and error. `client` is a
  // registered client id or empty; `source` the source key. Returns what the
  // sink returned for an immediate record (true when only counted).
  bool record(boost::json::object event, std::string_view client, std::string_view source);
  // Writes the counts of intervals that have ended (every count with `all`).
  void flush(bool all = false);
  std::size_t open_keys() const;

 private:
  struct Window {
    std::int64_t start = 0;
    std::uint64_t suppressed = 0;
    std::map<std::string, std::uint64_t> errors;  // error code -> count, suppressed ones
  };

  const std::chrono::seconds interval_;
  const std::size_t max_keys_;
  Clock clock_;
  mutable std::mutex mu_;
  Sink sink_;
  // (event type, client, source) -> its window.
  std::map<std::tuple<std::string, std::string, std::string>, Window> windows_;
};

}  // namespace bastion::auth
