#include "protocol/era.hpp"

#include <gtest/gtest.h>

namespace bastion::protocol {
namespace {

namespace json = boost::json;

json::object with_meta(json::object meta) { return json::object{{"_meta", std::move(meta)}}; }

json::object modern_meta() {
  return {
      {"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
      {"io.modelcontextprotocol/clientCapabilities", json::object{{"sampling", json::object{}}}},
      {"io.modelcontextprotocol/clientInfo", json::object{{"name", "c"}, {"version", "1"}}}};
}

TEST(Era, DecidedByMetaThenHeader) {
  auto modern = with_meta(modern_meta());
  EXPECT_EQ(era_of(&modern), Era::kModern);
  EXPECT_EQ(era_of(&modern, "2025-11-25"), Era::kModern);  // the transport reports the mismatch
  // A version nobody speaks in _meta is still a Modern request (refused -32022).
  auto unknown = with_meta({{"io.modelcontextprotocol/protocolVersion", "v999"}});
  EXPECT_EQ(era_of(&unknown), Era::kModern);
  // A Legacy client mirroring its version there stays Legacy.
  auto legacy_mirror = with_meta({{"io.modelcontextprotocol/protocolVersion", "2025-11-25"}});
  EXPECT_EQ(era_of(&legacy_mirror), Era::kLegacy);
  json::object none;
  EXPECT_EQ(era_of(&none), Era::kLegacy);
  EXPECT_EQ(era_of(nullptr), Era::kLegacy);
  EXPECT_EQ(era_of(&none, "2025-11-25"), Era::kLegacy);
  EXPECT_EQ(era_of(&none, "2026-07-28"), Era::kModern);  // and then malformed: -32602
  auto progress_only = with_meta({{"progressToken", 1}});
  EXPECT_EQ(era_of(&progress_only), Era::kLegacy);
}

TEST(Era, RequestMeta) {
  auto ok = with_meta(modern_meta());
  auto m = read_request_meta(&ok);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->protocol_version, "2026-07-28");
  EXPECT_TRUE(m->client_capabilities.contains("sampling"));
  EXPECT_TRUE(m->log_level.empty());

  struct Case {
    const char* what;
    json::object params;
    int code;
  };
  auto drop = [](const char* key) {
    auto m = modern_meta();
    m.erase(key);
    return with_meta(std::move(m));
  };
  auto set = [](const char* key, json::value v) {
    auto m = modern_meta();
    m[key] = std::move(v);
    return with_meta(std::move(m));
  };
  std::vector<Case> cases = {
      {"no _meta", json::object{}, kInvalidParams},
      {"_meta not an object", json::object{{"_meta", 1}}, kInvalidParams},
      {"no version", drop("io.modelcontextprotocol/protocolVersion"), kInvalidParams},
      {"version not a string", set("io.modelcontextprotocol/protocolVersion", 2026),
       kInvalidParams},
      {"no capabilities", drop("io.modelcontextprotocol/clientCapabilities"), kInvalidParams},
      {"capabilities not an object", set("io.modelcontextprotocol/clientCapabilities", "all"),
       kInvalidParams},
      {"clientInfo not an object", set("io.modelcontextprotocol/clientInfo", "me"), kInvalidParams},
      {"bad log level", set("io.modelcontextprotocol/logLevel", "loud"), kInvalidParams},
      {"unknown version", set("io.modelcontextprotocol/protocolVersion", "1999-01-01"),
       kUnsupportedProtocolVersion},
      {"legacy version per request", set("io.modelcontextprotocol/protocolVersion", "2025-11-25"),
       kUnsupportedProtocolVersion},
  };
  for (auto& c : cases) {
    auto r = read_request_meta(&c.params);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.error().code, c.code) << c.what;
  }
  // clientInfo is optional.
  EXPECT_TRUE(read_request_meta(&(ok = drop("io.modelcontextprotocol/clientInfo"))).ok());
  auto bad = set("io.modelcontextprotocol/protocolVersion", "1999-01-01");
  auto e = read_request_meta(&bad).error();
  EXPECT_EQ(e.data.at("requested"), "1999-01-01");
  EXPECT_EQ(e.data.at("supported").as_array().front(), "2026-07-28");
}

TEST(Era, TraceContextIsKeptOnlyWhenWellFormed) {
  const char* good = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01";
  EXPECT_TRUE(valid_traceparent(good));
  EXPECT_FALSE(valid_traceparent("00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-0"));
  EXPECT_FALSE(valid_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(valid_traceparent("00-0AF7651916CD43DD8448EB211C80319C-00f067aa0ba902b7-01"));
  EXPECT_FALSE(valid_traceparent("ff-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"));
  auto m = modern_meta();
  m["traceparent"] = good;
  m["tracestate"] = "rojo=00f067aa0ba902b7";
  auto p = with_meta(m);
  auto r = read_request_meta(&p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->traceparent, good);
  EXPECT_EQ(r->tracestate, "rojo=00f067aa0ba902b7");
  m["traceparent"] = "garbage\r\nX-Injected: 1";
  p = with_meta(m);
  r = read_request_meta(&p);
  ASSERT_TRUE(r.ok());  // advisory: dropped, not an error
  EXPECT_TRUE(r->traceparent.empty());
  EXPECT_TRUE(r->tracestate.empty());
}

TEST(Era, ModernResultDecoration) {
  ResultDecoration d;
  d.server_info = json::object{{"name", "bastion"}, {"version", "1"}};
  d.ttl_ms = 5000;
  d.private_scope = false;
  json::object list{{"tools", json::array{}}};
  decorate_modern_result("tools/list", list, d);
  EXPECT_EQ(list.at("resultType"), "complete");
  EXPECT_EQ(list.at("ttlMs"), 5000);
  EXPECT_EQ(list.at("cacheScope"), "public");
  EXPECT_EQ(list.at("_meta").at("io.modelcontextprotocol/serverInfo").at("name"), "bastion");
  // What the backend set stays; invalid hints are replaced.
  json::object kept{{"ttlMs", 7}, {"cacheScope", "private"}};
  decorate_modern_result("resources/read", kept, d);
  EXPECT_EQ(kept.at("ttlMs"), 7);
  EXPECT_EQ(kept.at("cacheScope"), "private");
  json::object fixed{{"ttlMs", -1}, {"cacheScope", "everyone"}};
  decorate_modern_result("resources/read", fixed, d);
  EXPECT_EQ(fixed.at("ttlMs"), 5000);
  EXPECT_EQ(fixed.at("cacheScope"), "public");
  // Interim and non-cacheable results get no hints.
  json::object interim{{"resultType", "input_required"}, {"requestState", "x"}};
  decorate_modern_result("tools/call", interim, d);
  EXPECT_FALSE(interim.contains("ttlMs"));
  json::object call{{"content", json::array{}}};
  decorate_modern_result("tools/call", call, d);
  EXPECT_EQ(call.at("resultType"), "complete");
  EXPECT_FALSE(call.contains("cacheScope"));
}

TEST(Era, CanonicalJsonIgnoresKeyOrder) {
  auto a = json::parse(R"({"b":1,"a":{"y":[1,{"d":2,"c":3}],"x":null}})");
  auto b = json::parse(R"({"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1})");
  EXPECT_EQ(canonical_json(a), canonical_json(b));
  EXPECT_EQ(canonical_json(a), R"({"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1})");
  EXPECT_NE(canonical_json(json::parse(R"({"a":"1"})")), canonical_json(json::parse(R"({"a":1})")));
}

}  // namespace
}  // namespace bastion::protocol
