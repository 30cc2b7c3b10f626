#include "security/secrets.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "security/keyring.hpp"
#include "security/redact.hpp"
#include "storage/temp_dir.hpp"

namespace bastion::security {
namespace {

namespace fs = std::filesystem;

class Secrets : public ::testing::Test {
 protected:
  std::string file_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  storage::TempDir tmp_;
  fs::path root_ = tmp_.path();
  fs::path dir_ = root_ / "security";
};

TEST_F(Secrets, KeyringIsCreatedPrivateAndRotates) {
  EXPECT_THROW(load_fernet_keys(dir_, false), std::runtime_error);
  auto ring = load_fernet_keys(dir_);
  EXPECT_EQ(ring.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(fernet_keys_file(dir_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto tok = ring.encrypt("x");
  auto again = load_fernet_keys(dir_);
  EXPECT_EQ(again.primary().key_id(), ring.primary().key_id());
  auto rotated = rotate_fernet_keys(dir_);
  EXPECT_EQ(rotated.size(), 2u);
  EXPECT_NE(rotated.primary().key_id(), ring.primary().key_id());
  EXPECT_EQ(load_fernet_keys(dir_).decrypt(tok).value(), "x");
  rotate_fernet_keys(dir_);
  EXPECT_EQ(trim_fernet_keys(dir_, 2).size(), 2u);
  ::chmod(fernet_keys_file(dir_).c_str(), 0644);
  try {
    load_fernet_keys(dir_);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
  }
  ::chmod(fernet_keys_file(dir_).c_str(), 0600);
  std::ofstream(fernet_keys_file(dir_), std::ios::app) << "garbage\n";
  try {
    load_fernet_keys(dir_);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("line 4"), std::string::npos) << e.what();
  }
}

// `keys rotate --keep 1` right after a key was added: the secrets were
// encrypted under the key it drops. They are re-encrypted first, so none is
// lost; the old order (cut the ring, then re-encrypt) lost them all.
TEST_F(Secrets, RotatingDownToOneKeyKeepsEverySecret) {
  SecretStore(dir_, load_fernet_keys(dir_)).set("OPENAI_KEY", "sk-live-1234567890");
  auto r = rotate_keys_and_secrets(dir_, 1);
  EXPECT_EQ(r.reencrypted, 1u);
  EXPECT_EQ(r.ring.size(), 1u);
  EXPECT_EQ(load_fernet_keys(dir_, false).size(), 1u);
  EXPECT_EQ(SecretStore(dir_, load_fernet_keys(dir_, false)).get("OPENAI_KEY").value(),
            "sk-live-1234567890");
  // A secret no key decrypts stops the rotation before any key is dropped.
  SecretStore(dir_, MultiFernet({Fernet::from_key(Fernet::generate_key()).value()}))
      .set("STRANGER", "x");
  EXPECT_THROW(rotate_keys_and_secrets(dir_, 1), std::runtime_error);
  EXPECT_EQ(load_fernet_keys(dir_, false).size(), 2u) << "a key was dropped";
  EXPECT_EQ(SecretStore(dir_, load_fernet_keys(dir_, false)).get("OPENAI_KEY").value(),
            "sk-live-1234567890");
}

TEST_F(Secrets, StoresEncryptedAndSurvivesReloadAndRotation) {
  auto ring = load_fernet_keys(dir_);
  {
    SecretStore s(dir_, ring);
    s.set("OPENAI_KEY", "sk-live-1234567890");
    s.set("db.password", "hunter22");
    EXPECT_THROW(s.set("bad name", "x"), std::invalid_argument);
    EXPECT_THROW(s.set("EMPTY", ""), std::invalid_argument);
  }
  auto text = file_text(dir_ / "secrets.json");
  EXPECT_EQ(text.find("sk-live"), std::string::npos) << "plaintext on disk";
  EXPECT_NE(text.find("gAAAAA"), std::string::npos);
  SecretStore s(dir_, ring);
  EXPECT_EQ(s.get("OPENAI_KEY").value(), "sk-live-1234567890");
  EXPECT_FALSE(s.get("missing"));
  EXPECT_EQ(s.names(), (std::vector<std::string>{"OPENAI_KEY", "db.password"}));
  auto rotated = rotate_fernet_keys(dir_);
  SecretStore r(dir_, rotated);
  EXPECT_EQ(r.reencrypt(), 2u);
  // Only the newest key is needed now.
  SecretStore only_new(dir_, MultiFernet({rotated.primary()}));
  EXPECT_EQ(only_new.get("db.password").value(), "hunter22");
  EXPECT_TRUE(only_new.remove("db.password"));
  EXPECT_FALSE(only_new.remove("db.password"));
  // A lost key is an error, never garbage.
  SecretStore stranger(dir_, MultiFernet({Fernet::from_key(Fernet::generate_key()).value()}));
  EXPECT_THROW(stranger.get("OPENAI_KEY"), std::runtime_error);
}

TEST(Redactor, ScrubsRegisteredValuesFromTextAndLogs) {
  Redactor r;
  EXPECT_EQ(r.redact("nothing registered"), "nothing registered");
  r.add("abc");  // too short: ignored
  r.add("sk-live-1234567890");
  r.add("sk-live-1234");
  EXPECT_EQ(r.redact("key=sk-live-1234567890 and sk-live-1234!"), "key=*** and ***!");
  EXPECT_EQ(r.redact("abc"), "abc");
  EXPECT_TRUE(r.contains_secret("x sk-live-1234 y"));
  std::ostringstream out;
  auto inner = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger log("t", redacting_sink(inner, r));
  log.set_pattern("%v");
  log.info("upstream said: bad key sk-live-1234567890");
  log.info("plain line");
  EXPECT_EQ(out.str(), "upstream said: bad key ***\nplain line\n");
}

std::string test_b64(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Issue 11: only the exact value was scrubbed; the same key base64-, hex- or
// URL-encoded went through.
TEST(Redactor, ScrubsTheCommonEncodingsOfASecret) {
  const std::string secret = "sk-live/9f8e+7d6c 5b4a?";
  Redactor r;
  r.add(secret);
  std::string hex, url = "sk-live%2F9f8e%2B7d6c%205b4a%3F";
  for (unsigned char c : secret) hex += fmt::format("{:02x}", c);
  std::string upper_hex = hex;
  for (char& c : upper_hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::vector<std::string> leaks = {hex, upper_hex, url, "sk-live%2f9f8e%2b7d6c%205b4a%3f",
                                    "sk-live%2F9f8e%2B7d6c+5b4a%3F"};
  // Base64 alone, inside a Basic header at every byte alignment, and as
  // base64url without padding.
  for (const std::string prefix : {"", "u:", "us:", "usr:"}) {
    std::string b = test_b64(prefix + secret + "!");
    leaks.push_back(b);
    std::string u = b;
    for (char& c : u) c = c == '+' ? '-' : c == '/' ? '_' : c;
    while (!u.empty() && u.back() == '=') u.pop_back();
    leaks.push_back(u);
  }
  for (const auto& leak : leaks) {
    std::string line = "upstream said: Authorization: Basic " + leak + " (end)";
    std::string out = r.redact(line);
    EXPECT_TRUE(r.contains_secret(line)) << leak;
    EXPECT_NE(out.find("***"), std::string::npos) << leak;
    EXPECT_EQ(out.find(leak), std::string::npos) << leak;
  }
  // Ordinary text is untouched, and short values have no encoded forms.
  EXPECT_EQ(r.redact("version 1.2.3, id 42, hex deadbeef"), "version 1.2.3, id 42, hex deadbeef");
  Redactor small;
  small.add("abcd");
  EXPECT_EQ(small.redact("YWJjZA== 61626364"), "YWJjZA== 61626364");
}

TEST(SecretScrubFilter, ScrubsOutboundMessagesAndReportsOnce) {
  Redactor r;
  std::vector<boost::json::object> events;
  SecretScrubFilter f(r, [&](boost::json::object e) { events.push_back(std::move(e)); });
  auto msg = boost::json::parse(R"({"jsonrpc":"2.0","method":"notifications/message",
      "params":{"level":"error","data":{"line":"key sk-live-1234567890","n":[1,"sk-live-1234567890"]}}})")
                 .as_object();
  auto before = msg;
  const server::MessageContext mc{"s1", "notifications/message"};
  f.on_outbound(msg, mc);  // nothing registered: untouched, nothing reported
  EXPECT_EQ(msg, before);
  r.add("sk-live-1234567890");
  EXPECT_TRUE(f.on_outbound(msg, mc).ok());
  EXPECT_EQ(boost::json::serialize(msg.at("params")),
            R"({"level":"error","data":{"line":"key ***","n":[1,"***"]}})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("event_type"), "secret_redacted");
  EXPECT_EQ(events[0].at("method"), "notifications/message");
  EXPECT_EQ(events[0].at("session_id"), "s1");
  EXPECT_EQ(events[0].at("secrets_redacted"), 2);
  f.on_outbound(msg, mc);  // already clean: no second event
  EXPECT_EQ(events.size(), 1u);
}

}  // namespace
}  // namespace bastion::security
