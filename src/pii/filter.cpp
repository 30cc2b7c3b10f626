#include "pii/filter.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "metrics/metrics.hpp"

namespace bastion::pii {

namespace json = boost::json;

namespace {
server::DataAction data_action(PiiAction a) {
  switch (a) {
    case PiiAction::kAllow:
      return server::DataAction::kAllow;
    case PiiAction::kMask:
      return server::DataAction::kMask;
    case PiiAction::kEncrypt:
      return server::DataAction::kEncrypt;
    case PiiAction::kReject:
      return server::DataAction::kReject;
  }
  return server::DataAction::kReject;
}
}  // namespace

PiiFilter::PiiFilter(std::shared_ptr<const PiiScanner> scanner, PolicyOptions options,
                     Encryptor encryptor)
    : scanner_(std::move(scanner)), options_(std::move(options)), encryptor_(std::move(encryptor)) {
  if (!scanner_) throw std::invalid_argument("pii: no scanner");
  if (!encryptor_ && policy_uses(options_, PiiAction::kEncrypt))
    throw std::invalid_argument("pii: the policy uses 'encrypt' but no encryptor is configured");
}

server::Verdict PiiFilter::on_request(json::object& params, server::CallContext& ctx) {
  if (ctx.method != "tools/call" && ctx.method != "prompts/get") return {};
  json::value* args = params.if_contains("arguments");
  if (!args) return {};
  return apply(*args, Direction::kRequest, ctx);
}

server::Verdict PiiFilter::on_response(json::object& result, server::CallContext& ctx) {
  // The object itself is walked through a value wrapper without copying it.
  json::value wrapper(std::move(result));
  server::Verdict v = apply(wrapper, Direction::kResponse, ctx);
  result = std::move(wrapper.get_object());
  return v;
}

server::Verdict PiiFilter::apply(json::value& v, Direction d, server::CallContext& ctx) const {
  ResolvedPolicy policy(options_, ctx.server, ctx.target, d);
  PolicyOutcome out = apply_policy(v, *scanner_, policy, encryptor_);
  if (!out.contains_pii) return {};
  // Merge with what the other direction recorded.
  auto& notes = ctx.notes;
  auto& registry = metrics::Metrics::global();
  for (const auto& [type, n] : out.counts) {
    auto it = notes.pii.find(type);
    if (it == notes.pii.end()) it = notes.pii.emplace(type, 0).first;
    it->second += static_cast<std::int64_t>(n);
    // Types come from the pattern set, so the label set stays bounded.
    registry.add("bastion_pii_findings_total",
                 fmt::format("type=\"{}\",action=\"{}\",direction=\"{}\"",
                             metrics::label_value(type), to_string(policy.action_for(type)),
                             d == Direction::kRequest ? "request" : "response"),
                 n);
  }
  auto action = data_action(out.decision);
  if (!notes.contains_pii || action > notes.pii_action) notes.pii_action = action;
  notes.contains_pii = true;
  if (out.error) return server::Verdict::reject(std::move(*out.error));
  return {};
}

std::shared_ptr<PiiFilter> make_pii_filter(PolicyOptions options, Encryptor encryptor) {
  PatternSet set = default_patterns();
  for (const auto& f : options.pattern_files) set.merge(load_patterns_file(f));
  ScannerLimits limits;
  limits.min_confidence = options.min_confidence;
  auto scanner = std::make_shared<const PiiScanner>(std::move(set), limits);
  return std::make_shared<PiiFilter>(std::move(scanner), std::move(options), std::move(encryptor));
}

}  // namespace bastion::pii
