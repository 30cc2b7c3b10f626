#include "transport/request_guards.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace bastion::transport {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

http::request_header<> header(const Fields& fields, unsigned version = 11) {
  http::request_header<> h;
  h.method(http::verb::post);
  h.target("/mcp");
  h.version(version);
  for (const auto& [name, value] : fields) h.insert(name, value);
  return h;
}

// --- Framing ---------------------------------------------------------------

struct FramingCase {
  const char* name;
  Fields fields;
  unsigned version;
  int status;  // 0: accepted
};
class FramingTest : public ::testing::TestWithParam<FramingCase> {};

TEST_P(FramingTest, Decides) {
  const auto& c = GetParam();
  auto r = check_framing(header(c.fields, c.version));
  if (c.status == 0) {
    EXPECT_FALSE(r) << r->reason;
    return;
  }
  ASSERT_TRUE(r);
  EXPECT_EQ(static_cast<int>(r->status), c.status);
  EXPECT_TRUE(r->close) << "framing refusals must close the connection";
}

INSTANTIATE_TEST_SUITE_P(
    Guards, FramingTest,
    ::testing::Values(
        FramingCase{"OneHost", {{"Host", "127.0.0.1"}}, 11, 0},
        FramingCase{"TwoHosts", {{"Host", "127.0.0.1"}, {"Host", "evil.example"}}, 11, 400},
        FramingCase{"TwoEqualHosts", {{"Host", "a"}, {"Host", "a"}}, 11, 400},
        FramingCase{"NoHostHttp11", {}, 11, 400}, FramingCase{"NoHostHttp10", {}, 10, 0},
        FramingCase{"Chunked", {{"Host", "h"}, {"Transfer-Encoding", "chunked"}}, 11, 0},
        FramingCase{"ChunkedAnyCase", {{"Host", "h"}, {"Transfer-Encoding", "Chunked"}}, 11, 0},
        FramingCase{"XChunked", {{"Host", "h"}, {"Transfer-Encoding", "xchunked"}}, 11, 501},
        FramingCase{"ChunkedIdentity",
                    {{"Host", "h"}, {"Transfer-Encoding", "chunked, identity"}},
                    11,
                    501},
        FramingCase{"IdentityChunked",
                    {{"Host", "h"}, {"Transfer-Encoding", "identity, chunked"}},
                    11,
                    501},
        FramingCase{"Identity", {{"Host", "h"}, {"Transfer-Encoding", "identity"}}, 11, 501},
        FramingCase{"Gzip", {{"Host", "h"}, {"Transfer-Encoding", "gzip"}}, 11, 501},
        FramingCase{
            "TwoTransferEncodings",
            {{"Host", "h"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}},
            11,
            400},
        FramingCase{"LengthAndChunked",
                    {{"Host", "h"}, {"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}},
                    11,
                    400},
        FramingCase{"LengthAndXChunked",
                    {{"Host", "h"}, {"Transfer-Encoding", "xchunked"}, {"Content-Length", "5"}},
                    11,
                    400},
        FramingCase{"ChunkedInHttp10", {{"Transfer-Encoding", "chunked"}}, 10, 400},
        FramingCase{"LengthOnly", {{"Host", "h"}, {"Content-Length", "5"}}, 11, 0}),
    [](const ::testing::TestParamInfo<FramingCase>& info) { return info.param.name; });

struct RawCase {
  const char* name;
  const char* block;
  bool refused;
};
class RawHeaderTest : public ::testing::TestWithParam<RawCase> {};

TEST_P(RawHeaderTest, Decides) {
  const auto& c = GetParam();
  auto r = check_raw_header(c.block);
  EXPECT_EQ(r.has_value(), c.refused);
  if (r) {
    EXPECT_EQ(r->status, http::status::bad_request);
    EXPECT_TRUE(r->close);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Guards, RawHeaderTest,
    ::testing::Values(
        RawCase{"Plain", "POST /mcp HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n", false},
        RawCase{"ValueWithInnerSpaces", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a  b\t c\r\n\r\n",
                false},
        RawCase{"FoldWithSpace", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", true},
        RawCase{"FoldWithTab", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n", true},
        RawCase{"FoldedHost", "GET / HTTP/1.1\r\nHost: h\r\n evil\r\n\r\n", true},
        RawCase{"SpaceBeforeFirstField", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", true},
        RawCase{"NoFields", "GET / HTTP/1.1\r\n\r\n", false}),
    [](const ::testing::TestParamInfo<RawCase>& info) { return info.param.name; });

// --- Host and Origin ---------------------------------------------------------

struct AdmitCase {
  const char* name;
  Fields fields;
  GuardOptions opts;
  int status;  // 0: admitted
  bool cors;
};
class AdmitTest : public ::testing::TestWithParam<AdmitCase> {};

TEST_P(AdmitTest, Decides) {
  const auto& c = GetParam();
  auto a = admit(header(c.fields), c.opts);
  EXPECT_EQ(a.refusal ? static_cast<int>(a.refusal->status) : 0, c.status);
  EXPECT_EQ(a.cors, c.cors);
  if (a.refusal) {
    EXPECT_FALSE(a.cors) << "a refusal never grants CORS";
  }
}

const GuardOptions kLoopback{{}, {}, true};
const GuardOptions kPublic{{"https://app.example"}, {"mcp.example"}, false};

INSTANTIATE_TEST_SUITE_P(
    Guards, AdmitTest,
    ::testing::Values(
        AdmitCase{"LoopbackHost", {{"Host", "127.0.0.1:8080"}}, kLoopback, 0, false},
        AdmitCase{"LocalhostHost", {{"Host", "localhost"}}, kLoopback, 0, false},
        AdmitCase{"V6LoopbackHost", {{"Host", "[::1]:80"}}, kLoopback, 0, false},
        AdmitCase{"ReboundHost", {{"Host", "evil.example"}}, kLoopback, 403, false},
        AdmitCase{"EmptyHost", {{"Host", ""}}, kLoopback, 403, false},
        AdmitCase{"LoopbackOrigin",
                  {{"Host", "127.0.0.1"}, {"Origin", "http://localhost:3000"}},
                  kLoopback,
                  0,
                  true},
        AdmitCase{"ForeignOrigin",
                  {{"Host", "127.0.0.1"}, {"Origin", "http://evil.example"}},
                  kLoopback,
                  403,
                  false},
        AdmitCase{"NullOrigin", {{"Host", "127.0.0.1"}, {"Origin", "null"}}, kLoopback, 403, false},
        AdmitCase{"LoopbackLookalike",
                  {{"Host", "127.0.0.1"}, {"Origin", "http://localhost.evil.example"}},
                  kLoopback,
                  403,
                  false},
        AdmitCase{"TwoOrigins",
                  {{"Host", "127.0.0.1"},
                   {"Origin", "http://localhost"},
                   {"Origin", "http://evil.example"}},
                  kLoopback,
                  403,
                  false},
        AdmitCase{"AllowedOriginOnRefusedHost",
                  {{"Host", "evil.example"}, {"Origin", "http://localhost"}},
                  kLoopback,
                  403,
                  false},
        AdmitCase{"ListedHostAndOrigin",
                  {{"Host", "mcp.example"}, {"Origin", "https://app.example"}},
                  kPublic,
                  0,
                  true},
        AdmitCase{"ListedHostOtherOrigin",
                  {{"Host", "mcp.example"}, {"Origin", "https://other.example"}},
                  kPublic,
                  403,
                  false},
        AdmitCase{"UnlistedHost", {{"Host", "other.example"}}, kPublic, 403, false},
        AdmitCase{"AnyHostWhenNotLoopbackAndUnlisted",
                  {{"Host", "anything.example"}},
                  GuardOptions{{}, {}, false},
                  0,
                  false}),
    [](const ::testing::TestParamInfo<AdmitCase>& info) { return info.param.name; });

// The other routes (/metrics, health, OAuth2, sign-in, console): the same
// Host check, and an IP address always passes (a rebinding page names its
// own domain; probes and scrapers address a replica by its IP).
TEST(Guards, EveryOtherRouteChecksTheHostAsTheMcpEndpointDoes) {
  for (const char* ok : {"127.0.0.1:8080", "localhost", "[::1]:80", "10.1.2.3:8080", "[fd00::7]"})
    EXPECT_TRUE(route_host_allowed(ok, kLoopback)) << ok;
  for (const char* bad : {"evil.example", "evil.example:8080", "localhost.evil.example", "",
                          "127.0.0.1.nip.io", "[evil]", "0x7f.1"})
    EXPECT_FALSE(route_host_allowed(bad, kLoopback)) << bad;
  EXPECT_TRUE(route_host_allowed("mcp.example", kPublic));
  EXPECT_TRUE(route_host_allowed("10.1.2.3:8080", kPublic));  // a kubelet's probe
  EXPECT_FALSE(route_host_allowed("other.example", kPublic));
  EXPECT_FALSE(route_host_allowed("localhost", kPublic));  // listed hosts only
  EXPECT_TRUE(route_host_allowed("anything.example", GuardOptions{{}, {}, false}));
}

TEST(Guards, CorsHeadersOnlyForAGrant) {
  http::response<http::string_body> granted, refused, none;
  apply_cors(granted, "http://localhost", true);
  apply_cors(refused, "http://evil.example", false);
  apply_cors(none, "", true);
  EXPECT_EQ(granted[http::field::access_control_allow_origin], "http://localhost");
  EXPECT_EQ(granted[http::field::vary], "Origin");
  EXPECT_EQ(refused.count(http::field::access_control_allow_origin), 0u);
  EXPECT_EQ(refused.count(http::field::access_control_expose_headers), 0u);
  EXPECT_EQ(refused[http::field::vary], "Origin");
  EXPECT_EQ(none.count(http::field::vary), 0u);
}

// --- Content negotiation -----------------------------------------------------

struct AcceptCase {
  const char* name;
  const char* header;
  const char* type;
  bool ok;
};
class AcceptTest : public ::testing::TestWithParam<AcceptCase> {};

TEST_P(AcceptTest, Decides) {
  EXPECT_EQ(accepts(GetParam().header, GetParam().type), GetParam().ok);
}

INSTANTIATE_TEST_SUITE_P(
    Guards, AcceptTest,
    ::testing::Values(
        AcceptCase{"Exact", "application/json", "application/json", true},
        AcceptCase{"InList", "text/html, application/json;q=0.9", "application/json", true},
        AcceptCase{"TypeWildcard", "application/*", "application/json", true},
        AcceptCase{"AnyWildcard", "*/*", "text/event-stream", true},
        AcceptCase{"CaseAndSpaces", "  Text/Event-Stream ", "text/event-stream", true},
        AcceptCase{"Other", "text/html", "application/json", false},
        AcceptCase{"Prefix", "application/json-seq", "application/json", false},
        AcceptCase{"Empty", "", "application/json", false},
        AcceptCase{"TypeWildcardAnyCase", "APPLICATION/*", "application/json", true},
        AcceptCase{"OtherTypeWildcard", "text/*", "application/json", false},
        AcceptCase{"LongerTypeWildcard", "applications/*", "application/json", false},
        AcceptCase{"SlashOnly", "application/", "application/json", false},
        AcceptCase{"NotAWildcard", "application/**", "application/json", false}),
    [](const ::testing::TestParamInfo<AcceptCase>& info) { return info.param.name; });

TEST(Guards, JsonContentType) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON; charset=utf-8"));
  EXPECT_FALSE(is_json_content_type("application/jsonx"));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type(""));
}

TEST(Guards, ProtocolVersionHeader) {
  EXPECT_FALSE(check_protocol_version(header({}), nullptr));
  EXPECT_FALSE(check_protocol_version(header({{"MCP-Protocol-Version", "2025-06-18"}}), nullptr));
  auto r = check_protocol_version(header({{"MCP-Protocol-Version", "1999-01-01"}}), 7);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, http::status::bad_request);
  EXPECT_EQ(r->id, boost::json::value(7));
  EXPECT_NE(r->reason.find("'1999-01-01'"), std::string::npos) << r->reason;
}

TEST(Guards, EchoedHeaderValuesStayValidJson) {
  // fuzz/http_request: a header value with bytes that are not UTF-8 was
  // echoed raw into the reason, and so into a JSON-RPC error body that no
  // strict client can parse. It is echoed escaped, as ASCII.
  auto ascii = [](const std::string& s) {
    for (unsigned char c : s)
      if (c >= 0x80 || c < 0x20) return false;
    return true;
  };
  auto pv = check_protocol_version(header({{"MCP-Protocol-Version",
                                            "2025\xd0"
                                            "06-18"}}),
                                   1);
  ASSERT_TRUE(pv);
  EXPECT_TRUE(ascii(pv->reason)) << pv->reason;
  EXPECT_NE(pv->reason.find("'2025\\u00d006-18'"), std::string::npos) << pv->reason;
  auto te = check_framing(header({{"Host", "h"}, {"Transfer-Encoding", "gz\xffip"}}));
  ASSERT_TRUE(te);
  EXPECT_EQ(te->status, http::status::not_implemented);
  EXPECT_TRUE(ascii(te->reason)) << te->reason;
}

}  // namespace
}  // namespace bastion::transport
