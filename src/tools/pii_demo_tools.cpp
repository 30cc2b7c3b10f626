#include "tools/pii_demo_tools.hpp"

#include <fmt/format.h>

#include <chrono>

#include "pii/mask.hpp"

namespace bastion::tools {

namespace json = boost::json;
using pii::Direction;
using pii::Finding;
using pii::mask_text;
using pii::mask_value;
using pii::MaskOptions;
using pii::PiiAction;
using pii::PiiScanner;
using pii::PolicyOptions;
using pii::ResolvedPolicy;

namespace {

struct Lcg {
  std::uint64_t s;
  std::uint32_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(s >> 33);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint32_t>(n)); }
};

std::string digits(Lcg& r, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>('0' + r.below(10));
  return s;
}

std::string rrn(Lcg& r) {
  int yy = r.below(100), mm = 1 + r.below(12), dd = 1 + r.below(28);
  int g = yy < 24 ? 3 + r.below(2) : 1 + r.below(2);
  std::string d = fmt::format("{:02}{:02}{:02}{}", yy, mm, dd, g) + digits(r, 5);
  static constexpr int kW[] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
  int sum = 0;
  for (int i = 0; i < 12; ++i) sum += (d[i] - '0') * kW[i];
  d += static_cast<char>('0' + (11 - sum % 11) % 10);
  return d.substr(0, 6) + "-" + d.substr(6);
}

std::string card(Lcg& r) {
  std::string d = "4" + digits(r, 14);
  int sum = 0;
  for (int i = 0; i < 15; ++i) {  // Luhn check digit over the 15 digits
    int x = d[14 - i] - '0';
    if (i % 2 == 0) {
      x *= 2;
      if (x > 9) x -= 9;
    }
    sum += x;
  }
  d += static_cast<char>('0' + (10 - sum % 10) % 10);
  return d.substr(0, 4) + "-" + d.substr(4, 4) + "-" + d.substr(8, 4) + "-" + d.substr(12);
}

json::array findings_json(std::string_view text, const std::vector<Finding>& f,
                          const MaskOptions& mask) {
  json::array out;
  for (const auto& x : f) {
    json::object o{{"type", x.type},
                   {"begin", x.begin},
                   {"end", x.end},
                   {"confidence", x.confidence},
                   {"masked", mask_value(x.type, text.substr(x.begin, x.end - x.begin), mask)}};
    if (!x.detail.empty()) o["detail"] = x.detail;
    out.push_back(std::move(o));
  }
  return out;
}

json::object counts_json(const std::vector<Finding>& f) {
  json::object c;
  for (const auto& x : f) {
    json::value& slot = c[x.type];
    slot = (slot.is_int64() ? slot.get_int64() : 0) + 1;
  }
  return c;
}

}  // namespace

std::string synthetic_breach_sample(int records, std::uint64_t seed) {
  static const char* const kSurnames[] = {"김", "이", "박", "최", "정", "강", "조", "윤"};
  static const char* const kGiven[] = {"민준", "서연", "지호", "하은",
                                       "도윤", "수아", "예준", "지우"};
  Lcg r{seed * 2654435761ULL + 1};
  std::string out = "id,name,email,phone,rrn,card,last_login_ip,note\n";
  for (int i = 0; i < records; ++i) {
    out += fmt::format("{},{}{}님,customer{}@example.com,010-{}-{},{},{},10.{}.{}.{},{}\n", i + 1,
                       kSurnames[r.below(8)], kGiven[r.below(8)], i + 1, digits(r, 4), digits(r, 4),
                       rrn(r), card(r), r.below(256), r.below(256), r.below(256),
                       i % 3 ? "VIP 고객님" : "주문 2건");
  }
  return out;
}

server::SyncTool make_test_pii_detection_tool(std::shared_ptr<const pii::PiiScanner> scanner,
                                              pii::MaskOptions mask) {
  server::SyncTool t;
  t.definition = json::object{
      {"name", "test_pii_detection"},
      {"title", "Test PII detection"},
      {"description",
       "Scan a text for personal data and secrets (emails, Korean phones, names, resident "
       "registration numbers, cards, IBANs, SSNs, IPs, API keys). Reports each finding's type, "
       "byte span and confidence and the masked text; never the raw values."},
      {"inputSchema",
       json::object{
           {"type", "object"},
           {"properties", json::object{{"text", json::object{{"type", "string"},
                                                             {"description", "Text to scan"}}}}},
           {"required", json::array{"text"}}}},
      {"annotations", json::object{{"readOnlyHint", true}, {"openWorldHint", false}}},
  };
  t.call = [scanner, mask](const json::object& args,
                           const protocol::Principal&) -> protocol::Outcome {
    const json::value* text = args.if_contains("text");
    if (!text || !text->is_string()) return protocol::invalid_params("'text' must be a string");
    std::string_view s(text->get_string().data(), text->get_string().size());
    auto f = scanner->scan(s);
    json::object report{{"contains_pii", !f.empty()},
                        {"count", f.size()},
                        {"counts", counts_json(f)},
                        {"findings", findings_json(s, f, mask)},
                        {"masked_text", mask_text(s, f, mask)}};
    return server::structured_result(std::move(report));
  };
  return t;
}

server::SyncTool make_simulate_data_breach_detection_tool(
    std::shared_ptr<const pii::PiiScanner> scanner, pii::PolicyOptions policy) {
  server::SyncTool t;
  t.definition = json::object{
      {"name", "simulate_data_breach_detection"},
      {"title", "Simulate data breach detection"},
      {"description",
       "Generate a deterministic synthetic customer-data dump (fake names, emails, Korean "
       "mobiles, RRNs, cards, IPs), run the PII scanner over it and report per-type counts, "
       "the scan time and what the configured policy and each alternative would have done."},
      {"inputSchema",
       json::object{{"type", "object"},
                    {"properties",
                     json::object{{"records", json::object{{"type", "integer"},
                                                           {"minimum", 1},
                                                           {"maximum", 10000},
                                                           {"default", 50}}},
                                  {"seed", json::object{{"type", "integer"}, {"default", 1}}}}}}},
      {"annotations", json::object{{"readOnlyHint", true}, {"openWorldHint", false}}},
  };
  auto shared_policy = std::make_shared<const PolicyOptions>(std::move(policy));
  t.call = [scanner, shared_policy](const json::object& args,
                                    const protocol::Principal&) -> protocol::Outcome {
    std::int64_t records = 50, seed = 1;
    if (const json::value* v = args.if_contains("records")) {
      if (!v->is_int64() || v->get_int64() < 1 || v->get_int64() > 10000)
        return protocol::invalid_params("'records' must be an integer within 1..10000");
      records = v->get_int64();
    }
    if (const json::value* v = args.if_contains("seed")) {
      if (!v->is_int64()) return protocol::invalid_params("'seed' must be an integer");
      seed = v->get_int64();
    }
    const std::string sample =
        synthetic_breach_sample(static_cast<int>(records), static_cast<std::uint64_t>(seed));
    auto t0 = std::chrono::steady_clock::now();
    auto f = scanner->scan(sample);
    auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    json::object counts = counts_json(f);
    std::map<std::string, int, std::less<>> count_map;
    for (const auto& x : f) ++count_map[std::string(x.type)];

    // What the configured policy does to this tool's response, type by type.
    ResolvedPolicy configured(*shared_policy, "builtin", "simulate_data_breach_detection",
                              Direction::kResponse);
    json::object per_type;
    PiiAction decision = PiiAction::kAllow;
    for (const auto& [type, n] : count_map) {
      PiiAction a = configured.action_for(type);
      per_type[type] = to_string(a);
      decision = std::max(decision, a);
    }
    const std::string first_row = sample.substr(0, sample.find('\n', sample.find('\n') + 1));
    std::vector<Finding> first;
    for (const auto& x : f)
      if (x.end <= first_row.size()) first.push_back(x);
    json::object alternatives{
        {"allow",
         fmt::format("{} values in {} records leave the gateway unchanged", f.size(), records)},
        {"mask", json::object{{"values_masked", f.size()},
                              {"first_record", mask_text(first_row, first, shared_policy->mask)}}},
        {"encrypt", fmt::format("{} values replaced by Fernet tokens; the rest of the text "
                                "passes unchanged",
                                f.size())},
        {"reject", pii_rejection(Direction::kResponse, count_map).message},
    };
    json::object report{
        {"records", records},
        {"bytes", sample.size()},
        {"scan_microseconds", us},
        {"findings", f.size()},
        {"counts", std::move(counts)},
        {"configured_policy",
         json::object{{"decision", to_string(decision)}, {"per_type", std::move(per_type)}}},
        {"alternatives", std::move(alternatives)},
    };
    return server::structured_result(std::move(report));
  };
  return t;
}

}  // namespace bastion::tools
