#include "transport/field_value.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace bastion::transport {
namespace {

namespace http = boost::beast::http;

// What the guards and the endpoint read from a request: the value of the
// first field of a name, whatever its case, as Beast's operator[] gives it.
TEST(FieldValue, GivesWhatBeastsIndexGives) {
  http::request<http::string_body> req;
  req.insert("mcp-session-ID", "first");
  req.insert("Content-Length", "12");  // as long as "Mcp-Session-Id"
  req.insert("MCP-SESSION-ID", "second");
  req.insert(http::field::host, "127.0.0.1");
  req.insert("Mcp-Session-Ix", "other");
  req.insert(http::field::origin, "");
  const std::string_view names[] = {"Mcp-Session-Id",
                                    "mcp-session-id",
                                    "Content-Length",
                                    "Mcp-Session-Ix",
                                    "Host",
                                    "Origin",
                                    "Mcp-Session",
                                    "Mcp-Session-Id2",
                                    "",
                                    "Accept"};
  for (auto n : names) EXPECT_EQ(field_value(req, n), std::string_view(req[n])) << n;
  EXPECT_EQ(field_value(req, "Mcp-Session-Id"), "first");
  EXPECT_EQ(field_value(req, http::field::host), "127.0.0.1");
  EXPECT_EQ(field_value(req, http::field::content_length), "12");
  EXPECT_EQ(field_value(req, http::field::accept), "");
  for (auto f : {http::field::host, http::field::origin, http::field::accept})
    EXPECT_EQ(field_count(req, f), req.count(f));
  for (auto n : names) EXPECT_EQ(field_count(req, n), req.count(n)) << n;
  EXPECT_EQ(field_count(req, "mcp-session-id"), 2u);
  req.insert("HOST", "evil.example");
  EXPECT_EQ(field_count(req, http::field::host), 2u);
}

// same_name against Beast's iequals on every pair of bytes: equal exactly
// when they are one ASCII letter in either case (not '@' and '`', '[' and
// '{', '^' and '~', which differ by the same bit).
TEST(FieldValue, SameNameFoldsLettersOnly) {
  for (int x = 0; x < 256; ++x)
    for (int y = 0; y < 256; ++y) {
      // A byte after each name: Beast 1.81's iequals reads one past the end
      // of its arguments when their last bytes differ only in case (ASan).
      const char a[] = {'M', static_cast<char>(x), '-', '\0'};
      const char b[] = {'M', static_cast<char>(y), '-', '\0'};
      const std::string_view sa(a, 3), sb(b, 3);
      ASSERT_EQ(same_name(sa, sb), boost::beast::iequals(sa, sb)) << x << " " << y;
    }
}

}  // namespace
}  // namespace bastion::transport
