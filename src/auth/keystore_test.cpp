#include "auth/keystore.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "auth/revocation.hpp"
#include "auth/test_util.hpp"

namespace bastion::auth {
namespace {

using std::chrono::seconds;
using testing::FakeClock;
using testing::TempDir;

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

TEST(KeyStore, GeneratesOnceWithPrivatePermissionsThenLoads) {
  TempDir tmp;
  auto dir = tmp.path() / "auth";
  std::string kid;
  {
    KeyStore ks(dir, Alg::kES256, seconds(1800));
    kid = ks.active()->kid();
    EXPECT_EQ(mode_of(dir), 0700u);
    ASSERT_EQ(ks.keys().size(), 1u);
    EXPECT_EQ(mode_of(ks.keys()[0].file), 0600u);
    EXPECT_EQ(kid, ks.active()->thumbprint());
  }
  KeyStore again(dir, Alg::kES256, seconds(1800));
  EXPECT_EQ(again.active()->kid(), kid);
  EXPECT_TRUE(again.active()->has_private());
  EXPECT_EQ(again.keys().size(), 1u);
}

TEST(KeyStore, RefusesKeyFilesReadableByOthers) {
  TempDir tmp;
  auto dir = tmp.path() / "auth";
  std::filesystem::path file;
  {
    KeyStore ks(dir, Alg::kEdDSA, seconds(60));
    file = ks.keys()[0].file;
  }
  ::chmod(file.c_str(), 0644);
  try {
    KeyStore ks(dir, Alg::kEdDSA, seconds(60));
    FAIL() << "loaded a world-readable key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
  }
  ::chmod(file.c_str(), 0600);
  ::chmod(dir.c_str(), 0755);
  EXPECT_THROW(KeyStore(dir, Alg::kEdDSA, seconds(60)), std::runtime_error);
}

TEST(KeyStore, RotationKeepsOldKidInJwksUntilRetentionThenPrunes) {
  TempDir tmp;
  FakeClock clock;
  KeyStore ks(tmp.path() / "auth", Alg::kES256, seconds(1860), clock);
  std::string old_kid = ks.active()->kid();
  clock.advance(10);
  std::string new_kid = ks.rotate();
  EXPECT_NE(old_kid, new_kid);
  EXPECT_EQ(ks.active()->kid(), new_kid);
  auto kids = [&] {
    std::vector<std::string> out;
    json::object jwks = ks.jwks();
    for (const auto& k : jwks.at("keys").as_array()) out.emplace_back(k.at("kid").as_string());
    return out;
  };
  EXPECT_EQ(kids(), (std::vector<std::string>{new_kid, old_kid}));
  EXPECT_TRUE(ks.find(old_kid));
  // Survives a restart as retired, not active.
  KeyStore reloaded(tmp.path() / "auth", Alg::kES256, seconds(1860), clock);
  EXPECT_EQ(reloaded.active()->kid(), new_kid);
  EXPECT_TRUE(reloaded.find(old_kid));

  clock.advance(1860);
  EXPECT_FALSE(ks.find(old_kid));
  EXPECT_EQ(ks.prune(), 1u);
  EXPECT_EQ(kids(), (std::vector<std::string>{new_kid}));
  EXPECT_EQ(ks.keys().size(), 1u);
  std::size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.path() / "auth"))
    files += !!e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST(KeyStore, JwksHasNoPrivatePartsAndNoHmacKeys) {
  TempDir tmp;
  for (Alg alg : {Alg::kES256, Alg::kRS256, Alg::kEdDSA}) {
    KeyStore ks(tmp.path() / std::string(alg_name(alg)), alg, seconds(60));
    auto keys = ks.jwks().at("keys").as_array();
    ASSERT_EQ(keys.size(), 1u);
    for (auto m : {"d", "p", "q", "dp", "dq", "qi", "k"})
      EXPECT_FALSE(keys[0].as_object().contains(m));
    EXPECT_EQ(keys[0].at("alg").as_string(), alg_name(alg));
  }
  KeyStore hs(tmp.path() / "hs", Alg::kHS256, seconds(60));
  EXPECT_TRUE(hs.jwks().at("keys").as_array().empty());
  EXPECT_TRUE(hs.active()->symmetric());
}

TEST(KeyStore, ChangingTheAlgorithmRotates) {
  TempDir tmp;
  KeyStore a(tmp.path() / "auth", Alg::kES256, seconds(60));
  std::string es = a.active()->kid();
  KeyStore b(tmp.path() / "auth", Alg::kEdDSA, seconds(60));
  EXPECT_EQ(b.active()->alg(), Alg::kEdDSA);
  EXPECT_TRUE(b.find(es));  // still trusted for tokens it signed
}

TEST(RevocationList, PersistsAndPrunes) {
  TempDir tmp;
  FakeClock clock;
  auto file = tmp.path() / "revoked.json";
  {
    RevocationList r(file, seconds(60), clock);
    EXPECT_TRUE(r.revoke("a", clock() + 100));
    EXPECT_FALSE(r.revoke("a", clock() + 100));
    EXPECT_TRUE(r.revoke("b", clock() + 1000));
    EXPECT_EQ(mode_of(file), 0600u);
  }
  RevocationList r(file, seconds(60), clock);
  EXPECT_TRUE(r.is_revoked("a"));
  EXPECT_TRUE(r.is_revoked("b"));
  EXPECT_FALSE(r.is_revoked("c"));
  clock.advance(161);
  EXPECT_EQ(r.prune(), 1u);
  EXPECT_FALSE(r.is_revoked("a"));
  RevocationList r2(file, seconds(60), clock);
  EXPECT_EQ(r2.size(), 1u);
}

TEST(KeyStore, ReplicasSharingTheDirectorySeeEachOthersKeys) {
  TempDir tmp;
  auto dir = tmp.path() / "auth";
  FakeClock clock;
  KeyStore a(dir, Alg::kES256, seconds(1800), clock);
  KeyStore b(dir, Alg::kES256, seconds(1800), clock);
  EXPECT_EQ(a.active()->kid(), b.active()->kid());
  clock.advance(5);
  std::string fresh = a.rotate();
  EXPECT_NE(b.find(fresh), nullptr);  // unknown kid: b looks at the disk again
  EXPECT_EQ(b.find("no-such-kid"), nullptr);
}

TEST(RevocationList, ReplicasSharingTheFileMergeAndSeeRevocations) {
  TempDir tmp;
  auto file = tmp.path() / "revoked.json";
  FakeClock clock;
  RevocationList a(file, seconds(60), clock);
  RevocationList b(file, seconds(60), clock);
  EXPECT_TRUE(a.revoke("jti-a", *clock.t + 600));
  EXPECT_TRUE(b.revoke("jti-b", *clock.t + 600));  // merges a's entry, does not drop it
  clock.advance(1);
  EXPECT_TRUE(b.is_revoked("jti-a"));
  EXPECT_TRUE(a.is_revoked("jti-b"));
  RevocationList c(file, seconds(60), clock);
  EXPECT_TRUE(c.is_revoked("jti-a"));
  EXPECT_TRUE(c.is_revoked("jti-b"));
}

}  // namespace
}  // namespace bastion::auth
