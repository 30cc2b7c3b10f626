// Header validation of Modern (2026-07-28) POSTs and the HTTP status of
// their errors: pure functions, table-driven.
#include <gtest/gtest.h>

#include "transport/mcp_endpoint.hpp"

namespace bastion::transport {
namespace {
namespace json = boost::json;
}  // namespace
}  // namespace bastion::transport

namespace bastion::transport {
namespace {

// A Modern POST whose headers are `headers` and whose body is `body`.
struct HeaderCase {
  const char* name;
  std::vector<std::pair<const char*, const char*>> headers;
  const char* body;
  bool ok;
};
class ModernHeadersTest : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(ModernHeadersTest, Checks) {
  const auto& c = GetParam();
  Request req{http::verb::post, "/mcp", 11};
  for (auto& [k, v] : c.headers) req.insert(k, v);
  auto parsed = read_post_body(c.body);
  ASSERT_TRUE(parsed) << parsed.error().reason;
  auto r = check_modern_headers(req, parsed->messages.front());
  if (c.ok) {
    EXPECT_FALSE(r) << r->reason;
    return;
  }
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, http::status::bad_request);
  EXPECT_EQ(r->code, -32020);
  EXPECT_EQ(r->id, json::value(7));
}

#define META R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"})"
constexpr const char* kList =
    R"({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{)" META "}}";
constexpr const char* kCall =
    R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo",)" META "}}";
constexpr const char* kRead =
    R"({"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"test://ä b",)" META "}}";
#undef META
constexpr const char* kV = "2026-07-28";

INSTANTIATE_TEST_SUITE_P(
    Modern, ModernHeadersTest,
    ::testing::Values(
        HeaderCase{
            "list", {{"MCP-Protocol-Version", kV}, {"Mcp-Method", "tools/list"}}, kList, true},
        HeaderCase{"lowercase names",
                   {{"mcp-protocol-version", kV}, {"mcp-method", "tools/list"}},
                   kList,
                   true},
        HeaderCase{"method differs",
                   {{"MCP-Protocol-Version", kV}, {"Mcp-Method", "prompts/list"}},
                   kList,
                   false},
        HeaderCase{"method case",
                   {{"MCP-Protocol-Version", kV}, {"Mcp-Method", "TOOLS/LIST"}},
                   kList,
                   false},
        HeaderCase{"no method", {{"MCP-Protocol-Version", kV}}, kList, false},
        HeaderCase{"method twice",
                   {{"MCP-Protocol-Version", kV},
                    {"Mcp-Method", "tools/list"},
                    {"Mcp-Method", "tools/list"}},
                   kList,
                   false},
        HeaderCase{"no version", {{"Mcp-Method", "tools/list"}}, kList, false},
        HeaderCase{"version differs",
                   {{"MCP-Protocol-Version", "2025-11-25"}, {"Mcp-Method", "tools/list"}},
                   kList,
                   false},
        HeaderCase{
            "name on a method that has none (ignored)",
            {{"MCP-Protocol-Version", kV}, {"Mcp-Method", "tools/list"}, {"Mcp-Name", "echo"}},
            kList,
            true},
        HeaderCase{
            "call",
            {{"MCP-Protocol-Version", kV}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "echo"}},
            kCall,
            true},
        HeaderCase{"call, OWS",
                   {{"MCP-Protocol-Version", kV},
                    {"Mcp-Method", "tools/call"},
                    {"Mcp-Name", " \techo\t "}},
                   kCall,
                   true},
        HeaderCase{"call, Base64 name",
                   {{"MCP-Protocol-Version", kV},
                    {"Mcp-Method", "tools/call"},
                    {"Mcp-Name", "=?base64?ZWNobw==?="}},
                   kCall,
                   true},
        HeaderCase{"call, bad Base64",
                   {{"MCP-Protocol-Version", kV},
                    {"Mcp-Method", "tools/call"},
                    {"Mcp-Name", "=?base64?ZWNobw?="}},
                   kCall,
                   false},
        HeaderCase{
            "call, other name",
            {{"MCP-Protocol-Version", kV}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "sleep"}},
            kCall,
            false},
        HeaderCase{"call, no name",
                   {{"MCP-Protocol-Version", kV}, {"Mcp-Method", "tools/call"}},
                   kCall,
                   false},
        HeaderCase{"read, non-ASCII URI in Base64",
                   {{"MCP-Protocol-Version", kV},
                    {"Mcp-Method", "resources/read"},
                    {"Mcp-Name", "=?base64?dGVzdDovL8OkIGI=?="}},
                   kRead,
                   true},
        HeaderCase{"read, sentinel literal is not decoded twice",
                   {{"MCP-Protocol-Version", kV},
                    {"Mcp-Method", "resources/read"},
                    {"Mcp-Name", "test://\xc3\xa4 b"}},
                   kRead,
                   true}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (auto& ch : n)
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return n;
    });

TEST(ModernStatus, MapsErrorCodes) {
  EXPECT_EQ(modern_status(-32601), http::status::not_found);
  EXPECT_EQ(modern_status(-32020), http::status::bad_request);
  EXPECT_EQ(modern_status(-32021), http::status::bad_request);
  EXPECT_EQ(modern_status(-32022), http::status::bad_request);
  EXPECT_EQ(modern_status(-31000), http::status::too_many_requests);
  EXPECT_EQ(modern_status(-32602), http::status::ok);  // a tool's own invalid params
  EXPECT_EQ(modern_status(-32603), http::status::ok);
}

}  // namespace
}  // namespace bastion::transport
