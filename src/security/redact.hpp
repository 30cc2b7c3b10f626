// Keeps secret values out of logs and error messages: every value the
// secrets store hands to an upstream is registered here, and every log line
// (through redacting_sink) and relayed error is scrubbed of them.
//
// Thread-safety: Redactor is safe to use concurrently; redact() takes a
// shared lock and costs one branch while nothing is registered.
#pragma once

#include <spdlog/sinks/sink.h>

#include <atomic>
#include <boost/json.hpp>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/filter.hpp"

namespace bastion::security {

// The forms a secret commonly takes in text besides itself: hex (both cases),
// percent-encoding (both cases, '+' for spaces), and base64 / base64url at
// each of the three byte alignments it can have inside a longer encoded
// text (the characters that depend on its bytes alone, so it is found
// whether padded, unpadded or embedded). Forms equal to the value or shorter
// than 4 characters are left out.
std::vector<std::string> encoded_forms(std::string_view value);

class Redactor {
 public:
  static Redactor& global();

  // Values shorter than 4 bytes are not registered (they would scrub
  // ordinary text); such secrets are too weak to protect anyway. A value of
  // kMinEncodedBytes or more is also registered in its common encodings
  // (encoded_forms), so an upstream that prints its key base64-, hex- or
  // URL-encoded does not leak it either.
  void add(std::string value);
  static constexpr std::size_t kMinEncodedBytes = 8;
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

// A filter that scrubs registered secrets from every result, error,
// notification and server-to-client request on its way to the client, so an
// upstream that echoes its own API key (in output, an error message, a log
// notification or a sampling prompt) does not leak it. Free while nothing is
// registered. Results and errors note the redaction in their audit record;
// other messages are reported to `report` (an audit event).
class SecretScrubFilter : public server::Filter {
 public:
  using Report = std::function<void(boost::json::object event)>;
  explicit SecretScrubFilter(const Redactor& r = Redactor::global(), Report report = {})
      : r_(r), report_(std::move(report)) {}
  std::string_view name() const override { return "secret-scrub"; }
  server::Verdict on_request(boost::json::object&, server::CallContext&) override { return {}; }
  server::Verdict on_response(boost::json::object& result, server::CallContext& ctx) override;
  void on_error(protocol::RpcError& error, server::CallContext& ctx) override;
  server::Verdict on_outbound(boost::json::object& message,
                              const server::MessageContext& ctx) override;

 private:
  const Redactor& r_;
  Report report_;
};

// Replaces registered secrets in every string inside `v`; returns how many
// strings changed.
std::size_t scrub_json(boost::json::value& v, const Redactor& r);

// A sink that redacts each message, then hands it to `inner`.
std::shared_ptr<spdlog::sinks::sink> redacting_sink(std::shared_ptr<spdlog::sinks::sink> inner,
                                                    const Redactor& redactor = Redactor::global());

}  // namespace bastion::security
