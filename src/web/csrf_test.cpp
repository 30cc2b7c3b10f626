#include "web/csrf.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>
#include <vector>

#include "storage/temp_dir.hpp"

namespace bastion::web {
namespace {

namespace http = boost::beast::http;

TEST(Csrf, TokensAreBoundToBrowserAndPurpose) {
  auto key = SecretKey::from_bytes(std::string(32, 'k'));
  auto other = SecretKey::from_bytes(std::string(32, 'o'));
  std::string t = csrf_token(key, "browser-1", "consent:p1");
  EXPECT_TRUE(csrf_valid(key, "browser-1", "consent:p1", &t));
  EXPECT_FALSE(csrf_valid(key, "browser-2", "consent:p1", &t));  // another browser
  EXPECT_FALSE(csrf_valid(key, "browser-1", "consent:p2", &t));  // another request
  EXPECT_FALSE(csrf_valid(key, "browser-1", "login:p1", &t));    // another action
  EXPECT_FALSE(csrf_valid(other, "browser-1", "consent:p1", &t));
  EXPECT_FALSE(csrf_valid(key, "browser-1", "consent:p1", nullptr));
  std::string empty;
  EXPECT_FALSE(csrf_valid(key, "browser-1", "consent:p1", &empty));
  EXPECT_FALSE(csrf_valid(key, "", "consent:p1", &t));
  // Purpose and binding cannot be shifted into each other.
  std::string a = csrf_token(key, "b", "a:x");
  std::string b = csrf_token(key, "x:b", "a");
  EXPECT_NE(a, b);
  EXPECT_NE(csrf_field(key, "b", "a").str().find("name=\"csrf\""), std::string::npos);
}

TEST(Csrf, KeyFileIsCreatedOncePrivateAndShared) {
  storage::TempDir tmp;
  auto file = tmp.path() / "web" / "csrf.key";
  std::vector<std::string> macs(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] { macs[i] = SecretKey::load_or_create(file).mac("x"); });
  for (auto& t : threads) t.join();
  for (const auto& m : macs) EXPECT_EQ(m, macs[0]);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(SecretKey::load_or_create(file).mac("x"), macs[0]);
  ::chmod(file.c_str(), 0644);
  EXPECT_THROW(SecretKey::load_or_create(file), std::runtime_error);
}

TEST(Csrf, SameOriginRequestChecksFetchMetadataAndOrigin) {
  std::string origin = "https://bastion.example.com/base";
  struct Case {
    const char* site;
    const char* origin;
    bool ok;
  } cases[] = {
      {nullptr, nullptr, true},
      {"same-origin", "https://bastion.example.com", true},
      {"none", nullptr, true},
      {"cross-site", nullptr, false},
      {"same-site", nullptr, false},
      {nullptr, "https://evil.example", false},
      {nullptr, "null", false},
      {nullptr, "http://bastion.example.com", false},
      {nullptr, "https://bastion.example.com:443", true},
      {nullptr, "https://BASTION.example.com", true},
      {"same-origin", "https://evil.example", false},
      // Referrer-Policy: no-referrer makes browsers send Origin: null on a
      // same-origin post; Sec-Fetch-Site vouches for it, nothing else does.
      {"same-origin", "null", true},
      {"none", "null", false},
      {"cross-site", "null", false},
  };
  for (const auto& c : cases) {
    http::request_header<> req;
    if (c.site) req.set("Sec-Fetch-Site", c.site);
    if (c.origin) req.set(http::field::origin, c.origin);
    EXPECT_EQ(same_origin_request(req, origin), c.ok)
        << (c.site ? c.site : "-") << " " << (c.origin ? c.origin : "-");
  }
  EXPECT_EQ(origin_of("http://127.0.0.1:8080/x?y"), "http://127.0.0.1:8080");
  EXPECT_EQ(origin_of("javascript:alert(1)"), "");
}

}  // namespace
}  // namespace bastion::web
