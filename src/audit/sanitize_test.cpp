// Nothing that authenticates anyone reaches an audit record, whatever the
// caller put in the event.
#include "audit/sanitize.hpp"

#include <gtest/gtest.h>

#include "audit/test_util.hpp"
#include "protocol/json_text.hpp"

namespace bastion::audit {
namespace {

namespace json = boost::json;

const std::string kJwt =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0."
    "eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xIiwic3ViIjoiYyJ9."
    "MEUCIQDx3Yw0p9bq1WbYc2_abc-def";

TEST(Sanitize, StringsLoseQueriesTokensAndCredentials) {
  struct Case {
    std::string in, out;
  };
  for (const auto& c : std::vector<Case>{
           {"/mcp?access_token=" + kJwt, "/mcp"},
           {"/mcp#frag", "/mcp"},
           {"https://idp.example/jwks?key=abc failed: timeout",
            "https://idp.example/jwks failed: timeout"},
           {"file:///srv/data.csv?sig=xyz", "file:///srv/data.csv"},
           {"Bearer " + kJwt, "Bearer [token removed]"},
           {"authorization: bearer abcdefghijklmnop", "authorization: bearer [removed]"},
           {"got token " + kJwt + " from x", "got token [token removed] from x"},
           // fuzz/audit_record: a short "eyJ" run and a dot before a token hid it.
           {"x eyJ." + kJwt, "x eyJ.[token removed]"},
           {"eyJ.eyJ." + kJwt + " y", "eyJ.eyJ.[token removed] y"},
           {"client_secret=hunter2&grant_type=x", "client_secret=[removed]&grant_type=x"},
           {"form access_token=abc, code=xyz", "form access_token=[removed], code=[removed]"},
           // Left alone: ordinary text, names, a question, "basic" in prose.
           {"Unknown tool: weather?", "Unknown tool: weather?"},
           {"get_weather", "get_weather"},
           {"a basic check", "a basic check"},
           {"seq=5 ok", "seq=5 ok"},
       })
    EXPECT_EQ(sanitize_string(c.in), c.out) << c.in;
}

TEST(Sanitize, LongStringsAreCutOnACharacterBoundary) {
  std::string s(2000, 'a');
  s[1023] = '\xea';  // a 3-byte character straddling the cut
  s[1024] = '\xb0';
  s[1025] = '\x80';
  auto out = sanitize_string(s);
  EXPECT_LT(out.size(), 1100u);
  EXPECT_EQ(out.substr(0, 1023), std::string(1023, 'a'));
  EXPECT_NE(out.find("[cut, 2000 bytes]"), std::string::npos);
}

TEST(Sanitize, CredentialMembersAreRemovedAtAnyDepth) {
  json::object e{{"event_type", "auth_failure"},
                 {"path", "/mcp?access_token=" + kJwt},
                 {"headers", json::object{{"x", "y"}}},
                 {"Authorization", "Bearer abc"},
                 {"nested", json::object{{"refresh_token", "r"},
                                         {"client_secret", "s"},
                                         {"list", json::array{"/a?b=c", 3}}}},
                 {"secret", "evil-key"},  // a secret's name (secret_used) stays
                 {"jti", "j-123"}};
  sanitize_event(e);
  EXPECT_EQ(e.at("path"), "/mcp");
  EXPECT_EQ(e.at("headers"), "[removed]");
  EXPECT_EQ(e.at("Authorization"), "[removed]");
  EXPECT_EQ(e.at("nested").at("refresh_token"), "[removed]");
  EXPECT_EQ(e.at("nested").at("client_secret"), "[removed]");
  EXPECT_EQ(e.at("nested").at("list").at(0), "/a");
  EXPECT_EQ(e.at("secret"), "evil-key");
  EXPECT_EQ(e.at("jti"), "j-123");
}

// Names are matched whatever their ASCII case and length: exact names
// whole, the suffixes at the end of names longer than any listed one.
TEST(Sanitize, CredentialNamesMatchInAnyCaseAndLength) {
  const std::vector<std::string> removed = {"PROXY-AUTHORIZATION",
                                            "Set-Cookie",
                                            "APIKEY",
                                            "Api_Key",
                                            "token",
                                            "ID_TOKEN",
                                            "user_Password",
                                            "x-upstream-service-for-the-mirror-access-token",
                                            "My_Very_Long_Service_Client_SECRET",
                                            "Secret_Value"};
  const std::vector<std::string> kept = {"tokens",
                                         "tokenizer",
                                         "secret",
                                         "x-authorization",
                                         "not_an_api_key_name",
                                         "cookies",
                                         "the_authorization_of_a_very_long_member",
                                         "passwords",
                                         "Query_string"};
  json::object e;
  for (const auto& k : removed) e[k] = "v";
  for (const auto& k : kept) e[k] = "v";
  sanitize_event(e);
  for (const auto& k : removed) EXPECT_EQ(e.at(k), "[removed]") << k;
  for (const auto& k : kept) EXPECT_EQ(e.at(k), "v") << k;
}

// append_sanitized_json() copies the usual value as it is after one pass.
// A value with any byte that JSON escapes, or that a rule starts from, or
// over the cap, must take the slow path: each kind here proves the fast path
// skips none (the rules' outputs are spelled out, as sanitize_string()
// shares the fast path's table of rule bytes).
TEST(Sanitize, AppendedAsJsonAsSanitizeAndEscapingLeaveIt) {
  struct Case {
    std::string in, json;
  };
  std::vector<Case> cases = {
      {"", R"("")"},
      {"echo", R"("echo")"},
      {"0123456789abcdef", R"("0123456789abcdef")"},
      {"/mcp?x", R"("/mcp")"},                               // '?': a query
      {"/mcp#frag", R"("/mcp")"},                            // '#': a fragment
      {"password=hunter2", R"("password=[removed]")"},       // '=': a credential parameter
      {"Bearer abcdefgh12345678", R"("Bearer [removed]")"},  // ' ': an auth scheme
      {kJwt, R"("[token removed]")"},                        // "eyJ": no other rule byte
      {"eye." + kJwt, R"("eye.[token removed]")"},           // 'e', 'y' that start none
      {"JeJyJ", R"("JeJyJ")"},                               // 'J' that ends none
      {std::string(kMaxRecordString, 'a'), '"' + std::string(kMaxRecordString, 'a') + '"'},
      {std::string(kMaxRecordString + 1, 'a'),
       '"' + std::string(kMaxRecordString, 'a') + "...[cut, 1025 bytes]\""},
      {"\xed\x95\x9c\x7f\xff", "\"\xed\x95\x9c\x7f\xff\""},  // JSON copies these
      {"q\"\\\n\x01", R"("q\"\\\n\u0001")"},
  };
  // Every byte, alone and at each place in a value (the fast path reads
  // four at a time), as JSON escaping writes it.
  for (int b = 0; b < 256; ++b) {
    const std::string c(1, static_cast<char>(b));
    std::vector<std::string> ins = {c, c + c + c};
    for (std::size_t at = 0; at <= 9; ++at)
      ins.push_back(std::string(at, 'a') + c + std::string(9 - at, 'z'));
    for (const std::string& in : ins) {
      std::string json;
      protocol::append_json_string(json, sanitize_string(in));
      cases.push_back({in, json});
    }
  }
  for (const auto& [in, json] : cases) {
    std::string out = "prefix:";
    append_sanitized_json(out, in);
    EXPECT_EQ(out, "prefix:" + json) << ::testing::PrintToString(in);
  }
}

using testing::Audit;

TEST_F(Audit, EveryRecordIsSanitizedWhereItIsBuilt) {
  {
    AuditLog log(opts_);
    log.append(json::object{{"event_type", "auth_failure"},
                            {"status", 401},
                            {"path", "/mcp?access_token=" + kJwt},
                            {"reason", "token " + kJwt + " expired"},
                            {"cookie", "session=abc"}});
  }
  std::string all;
  for (const auto& l : lines()) all += l;
  EXPECT_EQ(all.find("eyJ"), std::string::npos) << all;
  EXPECT_EQ(all.find("access_token"), std::string::npos);
  EXPECT_EQ(all.find("session=abc"), std::string::npos);
  EXPECT_NE(all.find(R"("path":"/mcp")"), std::string::npos);
}

}  // namespace
}  // namespace bastion::audit
