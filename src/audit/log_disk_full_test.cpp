// The writer on a disk that fills up: it fails closed, keeps every record it
// acknowledged, leaves no partial record behind and recovers once space is
// free, also when it starts on a full disk. A real 1 MiB tmpfs (root only).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "audit/format.hpp"
#include "audit/log.hpp"
#include "audit/test_util.hpp"

namespace bastion::audit {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// With a reserve, as the writer runs by default.
class AuditDiskFull : public testing::AuditOnSmallDisk {
 protected:
  void SetUp() override {
    AuditOnSmallDisk::SetUp();
    opts_.reserve_bytes = 64 << 10;
  }
};

TEST_F(AuditDiskFull, FailsClosedKeepsTheRecordsItAcceptedAndRecovers) {
  std::string pk;
  {
    AuditLog log(opts_);
    pk = log.public_key();
    fill();
    // The reserve takes the records of calls already running; once it
    // cannot be renewed, new calls are refused.
    int accepted = 0;
    for (int i = 0; i < 5000 && log.available(); ++i)
      if (log.append(json::object{{"event_type", "tool_call"}, {"n", i}})) ++accepted;
    EXPECT_FALSE(log.available());
    EXPECT_GT(accepted, 0);
    // Writes still go into what is left of the reserve; none is left torn.
    for (int i = 0; i < 20; ++i) log.append(json::object{{"event_type", "token_denied"}});
    log.note_refused();
    fs::remove(mnt_ / "filler");
    for (int i = 0; i < 100 && !log.available(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(log.available());
    EXPECT_NE(log.append(json::object{{"event_type", "tool_call"}}), 0u);
  }
  auto r = verify(pk);
  EXPECT_TRUE(r.ok()) << problem(r);
  bool outage = false;
  for (const auto& rec : records())
    if (rec.at("event_type") == "audit_unavailable") {
      outage = true;
      EXPECT_EQ(rec.at("refused_calls"), 1);
      EXPECT_NE(rec.at("reason").as_string().find("space"), std::string::npos);
    }
  EXPECT_TRUE(outage);
}

TEST_F(AuditDiskFull, AFailedWriteLeavesNothingBehind) {
  opts_.reserve_bytes = 0;  // no reserve: the write itself meets the full disk
  std::string pk;
  {
    AuditLog log(opts_);
    pk = log.public_key();
    fill();
    auto size = fs::file_size(opts_.dir / "audit.log");
    std::uint64_t failed = 0;
    // Records bigger than what is left of the last block.
    for (int i = 0; i < 200 && failed == 0; ++i)
      if (!log.append(json::object{{"event_type", "tool_call"}, {"pad", std::string(900, 'p')}}))
        ++failed;
    EXPECT_EQ(failed, 1u);
    EXPECT_FALSE(log.available());
    EXPECT_GE(log.failures(), 1u);
    auto after = read_all(opts_.dir / "audit.log");
    EXPECT_GE(after.size(), size);
    EXPECT_EQ(after.back(), '\n') << "a torn record was left behind";
    fs::remove(mnt_ / "filler");
    for (int i = 0; i < 100 && !log.available(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(log.available());
  }
  EXPECT_TRUE(verify(pk).ok()) << problem(verify(pk));
}

TEST_F(AuditDiskFull, ARestartOnAFullDiskOpensRefusingAndRecovers) {
  auto pk = write_log(3);
  fill();
  {
    AuditLog log(opts_);  // does not throw: calls are refused instead
    EXPECT_FALSE(log.available());
    fs::remove(mnt_ / "filler");
    for (int i = 0; i < 100 && !log.available(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(log.available());
    EXPECT_NE(log.append(json::object{{"event_type", "tool_call"}}), 0u);
  }
  EXPECT_TRUE(verify(pk).ok()) << problem(verify(pk));
}

}  // namespace
}  // namespace bastion::audit
