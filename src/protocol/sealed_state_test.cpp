#include "protocol/sealed_state.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "protocol/base64.hpp"

namespace bastion::protocol {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

StateBinding binding() { return {"client\nalice", "tools/call", "multi", R"({"a":1})"}; }

TEST(SealedState, RoundTripsThePayload) {
  auto s = StateSealer::random();
  json::value payload = json::object{{"round", 2}, {"name", "Alice"}};
  std::string token = s->seal(payload, binding());
  EXPECT_EQ(token.rfind("bs1.", 0), 0u);
  EXPECT_EQ(token.find("Alice"), std::string::npos);
  auto opened = s->open(token, binding());
  ASSERT_TRUE(opened.ok()) << opened.error().reason;
  EXPECT_EQ(opened.value(), payload);
  // Two seals of the same payload differ (fresh nonce).
  EXPECT_NE(s->seal(payload, binding()), token);
}

TEST(SealedState, RefusesTamperingForgeryAndForeignKeys) {
  auto s = StateSealer::random();
  std::string token = s->seal(json::object{{"k", "v"}}, binding());
  // Every single-character change is caught.
  for (std::size_t i = 4; i < token.size(); ++i) {
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(s->open(t, binding()).ok()) << "changed at " << i;
  }
  EXPECT_FALSE(s->open(token + "-TAMPERED", binding()).ok());
  EXPECT_FALSE(s->open(token.substr(0, token.size() - 1), binding()).ok());
  EXPECT_FALSE(s->open("", binding()).ok());
  EXPECT_FALSE(s->open("bs1.", binding()).ok());
  EXPECT_FALSE(s->open(R"({"k":"v"})", binding()).ok());
  EXPECT_FALSE(s->open("bs1." + base64url_nopad_encode(std::string(100, 'x')), binding()).ok());
  EXPECT_FALSE(s->open("bs1." + std::string(StateSealer::kMaxToken, 'A'), binding()).ok());
  // Sealed by another key: another deployment's state does not open here.
  auto other = StateSealer::random();
  EXPECT_FALSE(other->open(token, binding()).ok());
}

TEST(SealedState, BoundToCallerRequestAndArguments) {
  auto s = StateSealer::random();
  std::string token = s->seal(json::object{}, binding());
  auto changed = [&](auto f) {
    StateBinding b = binding();
    f(b);
    return s->open(token, b).ok();
  };
  EXPECT_FALSE(changed([](StateBinding& b) { b.principal = "client\nmallory"; }));
  EXPECT_FALSE(changed([](StateBinding& b) { b.method = "prompts/get"; }));
  EXPECT_FALSE(changed([](StateBinding& b) { b.target = "other"; }));
  EXPECT_FALSE(changed([](StateBinding& b) { b.arguments = R"({"a":2})"; }));
  // Field boundaries are part of the binding.
  EXPECT_FALSE(changed([](StateBinding& b) {
    b.principal = "client\nalicetools/call";
    b.method = "";
  }));
  EXPECT_TRUE(changed([](StateBinding&) {}));
}

TEST(SealedState, Expires) {
  auto s = StateSealer::random(60s);
  auto t0 = std::chrono::system_clock::now();
  std::string token = s->seal(json::object{}, binding(), t0);
  EXPECT_TRUE(s->open(token, binding(), t0 + 59s).ok());
  auto late = s->open(token, binding(), t0 + 61s);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().reason.find("expired"), std::string::npos);
}

TEST(SealedState, KeyFileIsCreatedOnceAndShared) {
  auto dir = std::filesystem::temp_directory_path() /
             ("bastion-sealer-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  auto path = dir / "mcp" / "request_state.key";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);  // the data directory
  // Its mcp/ is made 0700 whatever the umask (under umask 0 a mkdir that
  // left it to the umask makes it 0777).
  const mode_t old_mask = ::umask(0);
  auto a = StateSealer::from_key_file(path);
  ::umask(old_mask);
  struct stat st {};
  ASSERT_EQ(::stat(path.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  // A second process (a replica sharing the directory) uses the same key.
  auto b = StateSealer::from_key_file(path);
  std::string token = a->seal(json::value("x"), binding());
  EXPECT_TRUE(b->open(token, binding()).ok());
  // A key file of the wrong size is refused, not used.
  {
    std::ofstream f(path, std::ios::trunc);
    f << "short";
  }
  EXPECT_THROW(StateSealer::from_key_file(path), std::runtime_error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bastion::protocol
