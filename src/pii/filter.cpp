#include "pii/filter.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

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

std::string type_list(const std::map<std::string, int, std::less<>>& counts) {
  std::string list;
  for (const auto& [t, n] : counts) {
    if (!list.empty()) list += ", ";
    list += t;
  }
  return list;
}

void count_metrics(const PolicyOutcome& out, const ResolvedPolicy& policy, Direction d) {
  auto& registry = metrics::Metrics::global();
  for (const auto& [type, n] : out.counts) {
    // Types come from the pattern set, so the label set stays bounded.
    registry.add(
        "bastion_pii_findings_total",
        fmt::format("type=\"{}\",action=\"{}\",direction=\"{}\"", metrics::label_value(type),
                    to_string(policy.action_for(type)), to_string(d)),
        n);
  }
}

}  // namespace

PiiFilter::PiiFilter(std::shared_ptr<const PiiScanner> scanner, PolicyOptions options,
                     Encryptor encryptor, Report report)
    : scanner_(std::move(scanner)),
      options_(std::move(options)),
      encryptor_(std::move(encryptor)),
      report_(std::move(report)) {
  if (!scanner_) throw std::invalid_argument("pii: no scanner");
  if (!encryptor_ && policy_uses(options_, PiiAction::kEncrypt))
    throw std::invalid_argument("pii: the policy uses 'encrypt' but no encryptor is configured");
}

PolicyOutcome PiiFilter::run(json::value& v, Direction d, std::string_view server,
                             std::string_view target, const Exempt& exempt) const {
  ResolvedPolicy policy(options_, server, target, d);
  PolicyOutcome out = apply_policy(v, *scanner_, policy, encryptor_, exempt);
  if (out.contains_pii) count_metrics(out, policy, d);
  return out;
}

server::Verdict PiiFilter::on_request(json::object& params, server::CallContext& ctx) {
  // Everything the client sends, except the catalogue name the call was
  // routed by and the progress token Bastion replaces.
  // Built once: a vector made per request was an allocation per call.
  static const Exempt kRouted{{"name"}, true}, kOther{{}, true};
  const Exempt& exempt =
      ctx.method == "tools/call" || ctx.method == "prompts/get" ? kRouted : kOther;
  // The object is walked through a value wrapper without copying it.
  json::value wrapper(std::move(params));
  PolicyOutcome out = run(wrapper, Direction::kRequest, ctx.server, ctx.target, exempt);
  params = std::move(wrapper.get_object());
  record(out, ctx);
  if (out.error) return server::Verdict::reject(std::move(*out.error));
  return {};
}

server::Verdict PiiFilter::on_response(json::object& result, server::CallContext& ctx) {
  json::value wrapper(std::move(result));
  PolicyOutcome out = run(wrapper, Direction::kResponse, ctx.server, ctx.target, {});
  result = std::move(wrapper.get_object());
  record(out, ctx);
  if (out.error) return server::Verdict::reject(std::move(*out.error));
  // Nothing found, nothing rewritten: the upstream's text may go as it is.
  return out.contains_pii ? server::Verdict::pass() : server::Verdict::unchanged();
}

void PiiFilter::on_error(protocol::RpcError& error, server::CallContext& ctx) {
  // An upstream's error text and data reach the client like a result does.
  json::value wrapper(
      json::object{{"message", std::move(error.message)}, {"data", std::move(error.data)}});
  PolicyOutcome out = run(wrapper, Direction::kResponse, ctx.server, ctx.target, {});
  json::object& o = wrapper.get_object();
  error.message = std::string(o["message"].as_string());
  error.data = std::move(o["data"]);
  record(out, ctx);
  if (out.error) {
    // Still an error, now the policy's own: types only, the values gone.
    error.code = out.error->code;
    error.message = std::move(out.error->message);
    error.data = std::move(out.error->data);
  }
}

void PiiFilter::record(const PolicyOutcome& out, server::CallContext& ctx) const {
  if (!out.contains_pii) return;
  // Merge with what the other direction recorded.
  auto& notes = ctx.notes;
  for (const auto& [type, n] : out.counts) {
    auto it = notes.pii.find(type);
    if (it == notes.pii.end()) it = notes.pii.emplace(type, 0).first;
    it->second += static_cast<std::int64_t>(n);
  }
  auto action = data_action(out.decision);
  if (!notes.contains_pii || action > notes.pii_action) notes.pii_action = action;
  notes.contains_pii = true;
}

server::Verdict PiiFilter::relayed(json::value& v, Direction d, const server::MessageContext& ctx,
                                   std::string_view what, const Exempt& exempt) const {
  PolicyOutcome out = run(v, d, ctx.server, ctx.target, exempt);
  if (!out.contains_pii) return {};
  if (report_) {
    json::object counts;
    for (const auto& [t, n] : out.counts) counts[t] = n;
    report_({{"event_type", "pii_relayed"},
             {"method", ctx.method},
             {"session_id", ctx.session_id},
             {"server", ctx.server},
             {"direction", d == Direction::kRequest ? "to_server" : "to_client"},
             {"pii", std::move(counts)},
             {"decision", to_string(out.decision)}});
  }
  if (!out.error) return {};
  if (out.error->code == protocol::kPolicyRejected) {
    spdlog::warn("PII policy withheld {}{} (session {}, server '{}'): it contains {}", what,
                 ctx.method, ctx.session_id, ctx.server, type_list(out.counts));
    out.error->message = fmt::format("PII policy rejected {}{}: it contains {}", what, ctx.method,
                                     type_list(out.counts));
  }
  return server::Verdict::reject(std::move(*out.error));
}

server::Verdict PiiFilter::on_outbound(json::object& message, const server::MessageContext& ctx) {
  json::value* params = message.if_contains("params");
  if (!params) return {};
  return relayed(*params, Direction::kResponse, ctx, "", Exempt{{}, true});
}

server::Verdict PiiFilter::on_client_answer(json::object& answer,
                                            const server::MessageContext& ctx) {
  // The client's result or error goes back to the server that asked.
  json::value* body = answer.if_contains("result");
  if (!body) body = answer.if_contains("error");
  if (!body) return {};
  return relayed(*body, Direction::kRequest, ctx, "the answer to ", {});
}

std::shared_ptr<PiiFilter> make_pii_filter(PolicyOptions options, Encryptor encryptor,
                                           PiiFilter::Report report,
                                           std::filesystem::path db_cache_dir) {
  PatternSet set = default_patterns();
  for (const auto& f : options.pattern_files) set.merge(load_patterns_file(f));
  ScannerLimits limits;
  limits.min_confidence = options.min_confidence;
  auto scanner =
      std::make_shared<const PiiScanner>(std::move(set), limits, std::move(db_cache_dir));
  return std::make_shared<PiiFilter>(std::move(scanner), std::move(options), std::move(encryptor),
                                     std::move(report));
}

}  // namespace bastion::pii
