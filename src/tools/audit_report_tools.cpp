#include "tools/audit_report_tools.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "audit/key.hpp"
#include "audit/reader.hpp"
#include "audit/verify.hpp"
#include "tools/fixture_json.hpp"

namespace bastion::tools {

namespace fs = std::filesystem;
namespace json = boost::json;
using audit::audit_files;
using audit::for_each_audit_record;
using audit::read_audit_records;
using audit::verify_audit;
using fixture::prop;

namespace {

json::object schema(json::object properties, json::array required = {}) {
  json::object s{{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) s["required"] = std::move(required);
  return s;
}

std::string_view str_or_empty(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

void bump(json::object& o, std::string_view key, std::int64_t by = 1) {
  if (key.empty()) key = "(none)";
  json::value& slot = o[key];
  slot = (slot.is_int64() ? slot.get_int64() : 0) + by;
}

json::array top(const json::object& counts, std::size_t n, std::string_view label) {
  std::vector<std::pair<std::int64_t, std::string>> v;
  for (const auto& [k, c] : counts) v.emplace_back(c.to_number<std::int64_t>(), std::string(k));
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  json::array out;
  for (std::size_t i = 0; i < v.size() && i < n; ++i)
    out.push_back(json::object{{label, v[i].second}, {"count", v[i].first}});
  return out;
}

}  // namespace

server::SyncTool make_test_encryption_tool(std::shared_ptr<const security::MultiFernet> keys) {
  server::SyncTool t;
  t.definition = json::object{
      {"name", "test_encryption"},
      {"title", "Test encryption"},
      {"description",
       "Fernet (AES-128-CBC + HMAC-SHA256, compatible with Python's cryptography) with the "
       "gateway's live key ring: encrypts `text` and proves the round trip, or decrypts a "
       "`token` the PII `encrypt` policy produced. The plaintext is never echoed on encrypt."},
      {"inputSchema",
       schema(json::object{
           {"text", prop("string", "Text to encrypt")},
           {"token", prop("string", "A Fernet token to decrypt instead")},
           {"ttl_seconds", prop("integer", "With token: refuse tokens older than this")}})},
      {"annotations", json::object{{"readOnlyHint", true}, {"openWorldHint", false}}},
  };
  t.call = [keys](const json::object& args, const protocol::Principal&) -> protocol::Outcome {
    auto text = args.if_contains("text");
    auto token = args.if_contains("token");
    if ((text == nullptr) == (token == nullptr))
      return protocol::invalid_params("give exactly one of 'text' (encrypt) or 'token' (decrypt)");
    json::object report{{"algorithm", "Fernet (AES-128-CBC, HMAC-SHA256), spec version 0x80"},
                        {"key_id", keys->primary().key_id()},
                        {"keys_in_ring", keys->size()}};
    if (text) {
      if (!text->is_string()) return protocol::invalid_params("'text' must be a string");
      std::string_view s(text->get_string());
      std::string tok = keys->encrypt(s);
      auto back = keys->decrypt(tok);
      report["mode"] = "encrypt";
      report["fernet_token"] = tok;  // not "token": that key name marks a secret
      report["plaintext_bytes"] = s.size();
      report["token_bytes"] = tok.size();
      report["timestamp"] = keys->extract_timestamp(tok).value();
      report["round_trip_ok"] = back.ok() && back.value() == s;
      return server::structured_result(std::move(report));
    }
    if (!token->is_string()) return protocol::invalid_params("'token' must be a string");
    std::optional<std::chrono::seconds> ttl;
    if (auto* v = args.if_contains("ttl_seconds")) {
      if (!v->is_int64() || v->get_int64() <= 0)
        return protocol::invalid_params("'ttl_seconds' must be a positive integer");
      ttl = std::chrono::seconds(v->get_int64());
    }
    auto pt = keys->decrypt(token->get_string(), ttl);
    report["mode"] = "decrypt";
    if (!pt) {
      report["valid"] = false;
      report["error"] = to_string(pt.code());
      report["reason"] = pt.reason();
      auto r = server::structured_result(std::move(report));
      r["isError"] = true;
      return r;
    }
    report["valid"] = true;
    report["timestamp"] = keys->extract_timestamp(token->get_string()).value();
    report["plaintext"] = pt.value();
    return server::structured_result(std::move(report));
  };
  return t;
}

server::SyncTool make_get_security_audit_log_tool(fs::path audit_dir) {
  server::SyncTool t;
  t.definition = json::object{
      {"name", "get_security_audit_log"},
      {"title", "Security audit log"},
      {"description",
       "Read the gateway's tamper-evident audit log, newest first: tool calls with PII types and "
       "the action taken, authentication events, rejections. Filter by event type, tool, client "
       "or PII; page with the returned nextCursor. Records never hold raw PII or secrets."},
      {"inputSchema",
       schema(json::object{
           {"event_type", prop("string", "e.g. tool_call, token_issued, auth_failure")},
           {"tool_name", prop("string", "Only calls of this tool")},
           {"client_id", prop("string", "Only this OAuth2 client")},
           {"contains_pii", prop("boolean", "Only records with (true) or without (false) PII")},
           {"limit",
            json::object{{"type", "integer"}, {"minimum", 1}, {"maximum", 200}, {"default", 20}}},
           {"cursor", prop("string", "nextCursor from the previous page")}})},
      {"annotations", json::object{{"readOnlyHint", true}, {"openWorldHint", false}}},
  };
  t.call = [audit_dir](const json::object& args, const protocol::Principal&) -> protocol::Outcome {
    std::size_t limit = 20;
    if (auto* v = args.if_contains("limit")) {
      if (!v->is_int64() || v->get_int64() < 1 || v->get_int64() > 200)
        return protocol::invalid_params("'limit' must be an integer within 1..200");
      limit = static_cast<std::size_t>(v->get_int64());
    }
    std::uint64_t before = 0;
    if (auto* v = args.if_contains("cursor")) {
      std::string_view c = v->is_string() ? std::string_view(v->get_string()) : "";
      auto r = std::from_chars(c.data(), c.data() + c.size(), before);
      if (c.empty() || r.ec != std::errc() || r.ptr != c.data() + c.size() || before == 0)
        return protocol::invalid_params("'cursor' is not a cursor this tool returned");
    }
    std::optional<bool> pii;
    if (auto* v = args.if_contains("contains_pii")) {
      if (!v->is_bool()) return protocol::invalid_params("'contains_pii' must be a boolean");
      pii = v->get_bool();
    }
    for (const char* k : {"event_type", "tool_name", "client_id"})
      if (auto* v = args.if_contains(k); v && !v->is_string())
        return protocol::invalid_params(fmt::format("'{}' must be a string", k));
    std::string type(str_or_empty(args, "event_type")), tool(str_or_empty(args, "tool_name")),
        client(str_or_empty(args, "client_id"));
    auto keep = [&](const json::object& r) {
      if (!type.empty() && str_or_empty(r, "event_type") != type) return false;
      if (!tool.empty() && str_or_empty(r, "tool_name") != tool) return false;
      if (!client.empty() && str_or_empty(r, "client_id") != client) return false;
      if (pii) {
        auto* c = r.if_contains("contains_pii");
        if ((c && c->is_bool() && c->get_bool()) != *pii) return false;
      }
      return true;
    };
    // One extra record tells whether another page exists.
    auto recs = read_audit_records(audit_dir, before, limit + 1, keep);
    json::object out;
    bool more = recs.size() > limit;
    if (more) recs.resize(limit);
    json::array arr;
    for (auto& r : recs) arr.push_back(std::move(r));
    if (more && !arr.empty())
      out["nextCursor"] =
          std::to_string(arr.back().as_object().at("seq").to_number<std::uint64_t>());
    out["count"] = arr.size();
    out["records"] = std::move(arr);
    return server::structured_result(std::move(out));
  };
  return t;
}

server::SyncTool make_generate_security_report_tool(fs::path audit_dir,
                                                    std::string public_key_b64) {
  server::SyncTool t;
  t.definition = json::object{
      {"name", "generate_security_report"},
      {"title", "Security report"},
      {"description",
       "Summarise the real audit log: events by type, PII findings by type, actions taken, "
       "rejections, errors, top tools and clients, tool-call latency, and whether the log's hash "
       "chain and signed checkpoints verify."},
      {"inputSchema",
       schema(json::object{{"since", prop("string",
                                          "Only records at or after this ISO 8601 UTC "
                                          "time, e.g. 2026-12-01T00:00:00Z")}})},
      {"annotations", json::object{{"readOnlyHint", true}, {"openWorldHint", false}}},
  };
  t.call = [audit_dir, public_key_b64](const json::object& args,
                                       const protocol::Principal&) -> protocol::Outcome {
    std::string since(str_or_empty(args, "since"));
    if (auto* v = args.if_contains("since"); v && (!v->is_string() || since.size() < 10))
      return protocol::invalid_params("'since' must be an ISO 8601 time");
    json::object by_type, pii_types, actions, tools, clients, outcomes;
    std::int64_t total = 0, with_pii = 0, rejections = 0, errors = 0;
    std::vector<std::int64_t> latencies;
    for_each_audit_record(audit_dir, [&](const json::object& r) {
      // ISO 8601 UTC strings of one format compare like times.
      if (!since.empty() && str_or_empty(r, "ts") < since) return;
      ++total;
      std::string_view type = str_or_empty(r, "event_type");
      bump(by_type, type);
      if (type == "tool_call" || type == "resource_read" || type == "prompt_get") {
        bump(tools, str_or_empty(r, "tool_name"));
        bump(clients, str_or_empty(r, "client_id"));
        bump(actions, str_or_empty(r, "action_taken"));
        std::string_view outcome = str_or_empty(r, "outcome");
        bump(outcomes, outcome);
        if (outcome == "rejected") ++rejections;
        if (outcome == "error") ++errors;
        if (auto* l = r.if_contains("latency_us"); l && l->is_int64())
          latencies.push_back(l->get_int64());
      }
      if (auto* c = r.if_contains("contains_pii"); c && c->is_bool() && c->get_bool()) ++with_pii;
      if (auto* p = r.if_contains("pii"); p && p->is_object())
        for (const auto& [k, n] : p->get_object())
          if (n.is_int64()) bump(pii_types, k, n.get_int64());
    });
    json::object latency;
    if (!latencies.empty()) {
      std::sort(latencies.begin(), latencies.end());
      auto q = [&](double p) {
        return latencies[std::min(
            latencies.size() - 1,
            static_cast<std::size_t>(p * static_cast<double>(latencies.size())))];
      };
      latency = json::object{{"calls", latencies.size()}, {"p50_us", q(0.5)}, {"p99_us", q(0.99)}};
    }
    json::object integrity;
    auto files = audit_files(audit_dir);
    auto pk = audit::parse_public_key(public_key_b64);
    if (files.empty() || !pk) {
      integrity = json::object{{"verified", false}, {"reason", "no audit log yet"}};
    } else {
      audit::VerifyOptions vo;
      vo.public_key = pk;
      vo.head_file = audit_dir / "audit.log.head";
      auto rep = verify_audit(files, vo);
      integrity = json::object{{"verified", rep.ok()},
                               {"records", rep.records},
                               {"checkpoints", rep.checkpoints},
                               {"last_checkpoint_seq", rep.last_checkpoint_seq},
                               {"unsigned_records", rep.unsigned_records},
                               {"key_fingerprint", rep.fingerprint}};
      if (rep.problem)
        integrity["problem"] = fmt::format("{} line {} (seq {}): {}", rep.problem->file,
                                           rep.problem->line, rep.problem->seq, rep.problem->what);
    }
    json::object report{{"total_events", total},
                        {"events_by_type", std::move(by_type)},
                        {"events_with_pii", with_pii},
                        {"pii_findings_by_type", std::move(pii_types)},
                        {"actions_taken", std::move(actions)},
                        {"outcomes", std::move(outcomes)},
                        {"rejections", rejections},
                        {"errors", errors},
                        {"top_tools", top(tools, 10, "tool")},
                        {"top_clients", top(clients, 10, "client_id")},
                        {"tool_call_latency", std::move(latency)},
                        {"audit_integrity", std::move(integrity)}};
    if (!since.empty()) report["since"] = since;
    return server::structured_result(std::move(report));
  };
  return t;
}

}  // namespace bastion::tools
