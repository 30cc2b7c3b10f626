#include "console/audit_query.hpp"

#include <gtest/gtest.h>

namespace bastion::console {
namespace {

namespace json = boost::json;

AuditQuery ok(std::string_view target) {
  auto r = parse_audit_query(target);
  if (auto* e = std::get_if<std::string>(&r)) ADD_FAILURE() << target << ": " << *e;
  return std::holds_alternative<AuditQuery>(r) ? std::get<AuditQuery>(r) : AuditQuery{};
}

TEST(AuditQuery, ParsesAndMatches) {
  auto q =
      ok("/console/api/audit?from=2026-12-02T10:00Z&to=2026-12-03&event=tool_call&server=fs"
         "&tool=fs__read&client=ci&limit=5&before=99");
  EXPECT_EQ(q.from, "2026-12-02T10:00");
  EXPECT_EQ(q.to, "2026-12-03");
  EXPECT_EQ(q.limit, 5u);
  EXPECT_EQ(q.before, 99u);
  json::object r{{"seq", 7},       {"ts", "2026-12-02T11:00:00.123Z"}, {"event_type", "tool_call"},
                 {"server", "fs"}, {"tool_name", "fs__read"},          {"client_id", "ci"}};
  EXPECT_TRUE(q.matches(r));
  for (auto [k, v] :
       std::initializer_list<std::pair<const char*, const char*>>{{"ts", "2026-12-02T09:59:59Z"},
                                                                  {"ts", "2026-12-03T00:00:00Z"},
                                                                  {"event_type", "request"},
                                                                  {"server", "other"},
                                                                  {"tool_name", "fs__write"},
                                                                  {"client_id", "cj"}}) {
    json::object x = r;
    x[k] = v;
    EXPECT_FALSE(q.matches(x)) << k << "=" << v;
  }
  EXPECT_TRUE(ok("/a").matches(json::object{}));  // no filter: everything
}

TEST(AuditQuery, RefusesBadInput) {
  for (std::string_view t : {
           "/a?limit=0",
           "/a?limit=501",
           "/a?limit=-1",
           "/a?limit=1e3",
           "/a?limit=99999999999999999999",
           "/a?before=x",
           "/a?from=yesterday",
           "/a?from=2026-13",
           "/a?to=2026-12-02T25",
           "/a?event=a&event=b",
           "/a?colour=red",
           "/a?server=%00",
           "/a?server=%zz",
           "/a?from=2026-12-02T10:00:00.1234567890123",
       }) {
    auto r = parse_audit_query(t);
    EXPECT_TRUE(std::holds_alternative<std::string>(r)) << t;
  }
  std::string huge = "/a?server=" + std::string(300, 'x');
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_audit_query(huge)));
  std::string many = "/a?";
  for (int i = 0; i < 100; ++i) many += "x" + std::to_string(i) + "=1&";
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_audit_query(many)));
}

TEST(AuditQuery, NormalizeTime) {
  EXPECT_EQ(normalize_time("2026-12-02"), "2026-12-02");
  EXPECT_EQ(normalize_time("2026-12-02T15:04:05.5Z"), "2026-12-02T15:04:05.5");
  EXPECT_EQ(normalize_time("2026-12-02 15:04"), "");
  EXPECT_EQ(normalize_time(""), "");
}

}  // namespace
}  // namespace bastion::console
