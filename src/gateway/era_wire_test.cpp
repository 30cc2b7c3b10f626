#include "gateway/era_wire.hpp"

#include <gtest/gtest.h>

#include "protocol/era.hpp"

namespace bastion::gateway {
namespace {

namespace json = boost::json;

json::object obj(const char* text) { return json::parse(text).as_object(); }

TEST(EraWire, StripModernMetaKeepsTheRest) {
  auto p = obj(R"({"name":"t","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
    "io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{},
    "io.modelcontextprotocol/logLevel":"info","progressToken":5,"traceparent":"x"}})");
  strip_modern_meta(p);
  EXPECT_EQ(p, obj(R"({"name":"t","_meta":{"progressToken":5,"traceparent":"x"}})"));
  // A Legacy upstream that is dual-era must not take the request for a Modern one.
  EXPECT_EQ(protocol::era_of(&p), protocol::Era::kLegacy);
  auto only = obj(R"({"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}})");
  strip_modern_meta(only);
  EXPECT_FALSE(only.contains("_meta"));
}

TEST(EraWire, SetModernMetaReplacesTheClientsIdentity) {
  auto p = obj(R"({"_meta":{"io.modelcontextprotocol/clientInfo":{"name":"client"},
    "io.modelcontextprotocol/protocolVersion":"2026-07-28","progressToken":"t"}})");
  set_modern_meta(p, "2026-07-28", obj(R"({"name":"bastion","version":"1"})"),
                  obj(R"({"sampling":{}})"), "debug");
  auto meta = protocol::read_request_meta(&p);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->client_info.at("name"), "bastion");
  EXPECT_TRUE(meta->client_capabilities.contains("sampling"));
  EXPECT_EQ(meta->log_level, "debug");
  EXPECT_EQ(p.at("_meta").at("progressToken"), "t");
}

TEST(EraWire, CapabilitiesFollowTheRelaySetting) {
  auto caps = obj(R"({"sampling":{"tools":{}},"elicitation":{"form":{}},"roots":{},"x":{}})");
  EXPECT_EQ(modern_client_capabilities(RelayOptions{}, caps),
            obj(R"({"sampling":{"tools":{}},"elicitation":{"form":{}},"roots":{}})"));
  EXPECT_EQ(modern_client_capabilities(RelayOptions{false, true, false}, caps),
            obj(R"({"elicitation":{"form":{}}})"));
  EXPECT_EQ(modern_client_capabilities(RelayOptions{}, obj("{}")), obj("{}"));
}

TEST(EraWire, HttpHeadersOfAModernRequest) {
  auto msg = obj(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add",
    "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})");
  auto h = modern_http_headers(msg);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>{"MCP-Protocol-Version", "2026-07-28"}));
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>{"Mcp-Method", "tools/call"}));
  EXPECT_EQ(h[2], (std::pair<std::string, std::string>{"Mcp-Name", "add"}));
  // Not plain ASCII: the Base64 sentinel, never raw bytes in a header.
  auto uni = obj(R"({"method":"resources/read","params":{"uri":"file:///caf\u00e9\n",
    "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})");
  auto hu = modern_http_headers(uni);
  ASSERT_EQ(hu.size(), 3u);
  EXPECT_TRUE(hu[2].second.starts_with("=?base64?")) << hu[2].second;
  // Legacy messages get none.
  EXPECT_TRUE(modern_http_headers(obj(R"({"method":"tools/call","params":{"name":"a"}})")).empty());
  EXPECT_TRUE(modern_http_headers(obj(R"({"method":"initialize","params":{"_meta":{
    "io.modelcontextprotocol/protocolVersion":"2025-11-25"}}})"))
                  .empty());
}

TEST(EraWire, AnMcpNameShapedLikeTheSentinelGoesInBase64) {
  // Sent as it is, a server would decode it into another URI.
  auto msg = obj(R"({"method":"resources/read","params":{"uri":"=?base64?ZXZpbA==?=",
    "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})");
  auto h = modern_http_headers(msg);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[2].second, "=?base64?PT9iYXNlNjQ/WlhacGJBPT0/PQ==?=");
}

TEST(EraWire, MirrorsTheAnnotatedArgumentsOfAToolsCall) {
  std::vector<std::string> asked;
  ParamHeaderLookup lookup = [&](std::string_view tool) {
    asked.emplace_back(tool);
    if (tool != "exec") return std::vector<protocol::ParamHeader>{};
    return std::vector<protocol::ParamHeader>{{"Region", {"region"}, "string"},
                                              {"Tenant", {"t", "id"}, "integer"}};
  };
  auto call = obj(R"({"method":"tools/call","params":{"name":"exec",
    "arguments":{"region":"eu\r\nX-Evil: 1","t":{"id":7},"q":"x"}}})");
  auto m = mirror_tool_params(call, lookup);
  ASSERT_TRUE(m.ok()) << m.reason();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ(m.value()[0], (std::pair<std::string, std::string>{"Mcp-Param-Region",
                                                               "=?base64?ZXUNClgtRXZpbDogMQ==?="}));
  EXPECT_EQ(m.value()[1], (std::pair<std::string, std::string>{"Mcp-Param-Tenant", "7"}));
  // Other tools, other methods, no lookup: nothing.
  EXPECT_TRUE(mirror_tool_params(obj(R"({"method":"tools/call","params":{"name":"other",
    "arguments":{"region":"x"}}})"),
                                 lookup)
                  ->empty());
  EXPECT_TRUE(
      mirror_tool_params(obj(R"({"method":"prompts/get","params":{"name":"exec"}})"), lookup)
          ->empty());
  EXPECT_TRUE(mirror_tool_params(call, {})->empty());
  EXPECT_EQ(asked, (std::vector<std::string>{"exec", "other"}));
  // What has no header form refuses the call.
  auto bad = obj(R"({"method":"tools/call","params":{"name":"exec","arguments":{"region":[1]}}})");
  EXPECT_FALSE(mirror_tool_params(bad, lookup).ok());
}

TEST(EraWire, ReadDiscover) {
  auto d = read_discover(obj(R"({"supportedVersions":["2025-11-25","2026-07-28"],
    "capabilities":{"tools":{}},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s"}},
    "instructions":"hi"})"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->version, "2026-07-28");
  EXPECT_TRUE(d->capabilities.contains("tools"));
  EXPECT_EQ(d->server_info.at("name"), "s");
  EXPECT_EQ(d->instructions, "hi");
  EXPECT_TRUE(d->legacy_too) << "2025-11-25 listed: a dual-era server";
  auto only = read_discover(obj(R"({"supportedVersions":["2026-07-28"]})"));
  ASSERT_TRUE(only.ok());
  EXPECT_FALSE(only->legacy_too);
  auto none = read_discover(obj(R"({"supportedVersions":["2030-01-01"]})"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().reason.find("2030-01-01"), std::string::npos);
  EXPECT_FALSE(read_discover(obj(R"({"capabilities":{}})")).ok());
}

TEST(EraWire, ModernErrorsAndResults) {
  EXPECT_TRUE(is_modern_error(protocol::kUnsupportedProtocolVersion));
  EXPECT_TRUE(is_modern_error(protocol::kHeaderMismatch));
  EXPECT_FALSE(is_modern_error(-32601));
  EXPECT_FALSE(is_modern_error(-32602));
  auto r = obj(R"({"resultType":"complete","content":[],"ttlMs":5,"cacheScope":"public",
    "_meta":{"io.modelcontextprotocol/serverInfo":{},"k":1}})");
  strip_modern_result(r);
  EXPECT_EQ(r, obj(R"({"content":[],"_meta":{"k":1}})"));
  // A task's ttlMs is its lifetime, kept (SEP-2663).
  json::object task = obj(R"({"resultType":"task","taskId":"t","ttlMs":600000,"cacheScope":"private"})");
  strip_modern_result(task);
  EXPECT_EQ(task, obj(R"({"resultType":"task","taskId":"t","ttlMs":600000})"));
  EXPECT_EQ(parse_upstream_era("modern"), UpstreamEra::kModern);
  EXPECT_FALSE(parse_upstream_era("new").has_value());
}

}  // namespace
}  // namespace bastion::gateway
