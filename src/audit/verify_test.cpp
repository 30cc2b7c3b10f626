// Verification: every kind of tampering is found where it happened.
#include "audit/verify.hpp"

#include <gtest/gtest.h>

#include "audit/test_util.hpp"

namespace bastion::audit {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::Audit;

TEST_F(Audit, EditingAByteIsDetectedWhereItHappened) {
  auto pk = write_log(25);
  auto ls = lines();
  auto pos = ls[5].find("\"t4\"");
  ASSERT_NE(pos, std::string::npos);
  ls[5][pos + 2] = '9';
  put_lines(ls);
  auto r = verify(pk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem->line, 7u) << problem(r);  // the next record no longer links to line 6
  EXPECT_NE(problem(r).find("line 6"), std::string::npos) << problem(r);
}

TEST_F(Audit, EditingTheLastRecordIsDetectedByTheHeadFile) {
  auto pk = write_log(3);
  auto ls = lines();
  auto& l = ls.back();
  l.replace(l.find("shutdown"), 8, "periodic");
  put_lines(ls);
  auto r = verify(pk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem->line, ls.size());
}

TEST_F(Audit, DroppingSwappingAndTruncatingAreDetected) {
  auto pk = write_log(25);
  auto orig = lines();
  {
    auto ls = orig;
    ls.erase(ls.begin() + 8);
    put_lines(ls);
    auto r = verify(pk);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(problem(r).find("removed"), std::string::npos) << problem(r);
    EXPECT_EQ(r.problem->line, 9u);
  }
  {
    auto ls = orig;
    std::swap(ls[3], ls[4]);
    put_lines(ls);
    auto r = verify(pk);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.problem->line, 4u) << problem(r);
  }
  {
    auto ls = orig;
    ls.resize(ls.size() - 3);  // at a record boundary
    put_lines(ls);
    auto r = verify(pk);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(problem(r).find("removed from the end"), std::string::npos) << problem(r);
  }
  {
    auto ls = orig;
    ls.back().resize(ls.back().size() / 2);  // inside a record
    put_lines(ls, false);
    auto r = verify(pk);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(problem(r).find("truncated"), std::string::npos) << problem(r);
  }
  put_lines(orig);
  EXPECT_TRUE(verify(pk).ok());
}

TEST_F(Audit, RewritingTheChainWithoutTheKeyBreaksTheCheckpoint) {
  auto pk = write_log(25);
  auto ls = lines();
  // Alter record 3 and recompute every later prev, as a forger without the
  // signing key would: the next checkpoint's Merkle root no longer matches.
  auto pos = ls[2].find("\"t1\"");
  ls[2][pos + 2] = '7';
  for (std::size_t i = 3; i < ls.size(); ++i) {
    auto o = json::parse(ls[i]).as_object();
    o["prev"] = merkle::to_hex(merkle::leaf_hash(ls[i - 1]));
    ls[i] = json::serialize(o);
  }
  put_lines(ls);
  fs::remove(opts_.dir / "audit.log.head");
  auto r = verify_audit(audit_files(opts_.dir), pk, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(problem(r).find("checkpoint"), std::string::npos) << problem(r);
}

TEST_F(Audit, WrongKeyFailsTheSignature) {
  write_log(5);
  AuditOptions other = opts_;
  other.dir = root_ / "other";
  std::string pk2;
  {
    AuditLog log(other);
    pk2 = log.public_key();
  }
  auto r = verify(pk2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(problem(r).find("signature"), std::string::npos);
  EXPECT_FALSE(verify("not-a-key").ok());
}

}  // namespace
}  // namespace bastion::audit
