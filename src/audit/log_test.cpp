// The writer: chaining, resuming, rotation and several writing processes.
#include "audit/log.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "audit/test_util.hpp"

namespace bastion::audit {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::Audit;

TEST_F(Audit, ChainsSignsAndVerifies) {
  auto pk = write_log(25);
  auto r = verify(pk);
  EXPECT_TRUE(r.ok()) << problem(r);
  // audit_start + 25 events + checkpoints every 10 + the shutdown checkpoint.
  EXPECT_EQ(r.first_seq, 1u);
  EXPECT_EQ(r.records, r.last_seq);
  EXPECT_GE(r.checkpoints, 3u);
  EXPECT_EQ(r.last_checkpoint_seq, r.last_seq);  // clean shutdown ends on a checkpoint
  auto ls = lines();
  auto first = json::parse(ls[0]).as_object();
  EXPECT_EQ(first.at("event_type"), "audit_start");
  EXPECT_EQ(first.at("prev").as_string(), std::string(64, '0'));
  auto last = json::parse(ls.back()).as_object();
  EXPECT_EQ(last.at("event_type"), "audit_checkpoint");
  EXPECT_EQ(last.at("reason"), "shutdown");
}

TEST_F(Audit, ResumesAfterRestartAndAfterATornTail) {
  auto pk = write_log(4);
  auto n1 = lines().size();
  write_log(4);
  auto ls = lines();
  EXPECT_GT(ls.size(), n1 + 4);
  auto second_start = json::parse(ls[n1]).as_object();
  EXPECT_EQ(second_start.at("event_type"), "audit_start");
  EXPECT_EQ(second_start.at("clean_shutdown"), true);
  EXPECT_TRUE(verify(pk).ok());

  // A crash in the middle of a write leaves a torn line.
  {
    std::ofstream out(opts_.dir / "audit.log", std::ios::app);
    out << R"({"seq":999,"ts":"2026-)";
  }
  EXPECT_FALSE(verify(pk).ok());
  {
    AuditLog log(opts_);
    log.append(json::object{{"event_type", "tool_call"}});
  }
  auto r = verify(pk);
  EXPECT_TRUE(r.ok()) << problem(r);
  bool noted = false;
  for (const auto& l : lines()) noted = noted || l.find("torn_bytes_removed") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST_F(Audit, ResumeAfterACrashIsMarkedUnclean) {
  std::string pk;
  {
    AuditLog log(opts_);
    pk = log.public_key();
    log.append(json::object{{"event_type", "tool_call"}});
  }
  // Simulate a crash: drop the shutdown checkpoint the destructor wrote.
  auto ls = lines();
  ls.pop_back();
  put_lines(ls);
  fs::remove(opts_.dir / "audit.log.head");
  { AuditLog log(opts_); }
  ls = lines();
  bool unclean = false;
  for (const auto& l : ls)
    unclean = unclean || l.find("\"clean_shutdown\":false") != std::string::npos;
  EXPECT_TRUE(unclean);
  EXPECT_TRUE(verify(pk).ok()) << problem(verify(pk));
}

TEST_F(Audit, RefusesToResumeAnEditedLog) {
  write_log(25);
  auto ls = lines();
  ls.pop_back();           // the shutdown checkpoint (as after a crash)
  ls.erase(ls.end() - 2);  // and a record after the last periodic checkpoint
  put_lines(ls);
  EXPECT_THROW(AuditLog log(opts_), std::runtime_error);
}

TEST_F(Audit, SeveralWritersExtendOneChain) {
  // The locks are per open file description, so two logs in this process
  // stand in for two processes (two `bastion stdio` on one data directory).
  std::string pk;
  {
    AuditLog a(opts_);
    pk = a.public_key();
    AuditLog b(opts_);
    EXPECT_EQ(b.public_key(), pk);  // one key, made once
    for (int i = 0; i < 25; ++i) {
      a.append(json::object{{"event_type", "tool_call"}, {"tool_name", "a" + std::to_string(i)}});
      b.append(json::object{{"event_type", "tool_call"}, {"tool_name", "b" + std::to_string(i)}});
    }
    EXPECT_EQ(a.last_seq() + 1, b.last_seq());
    EXPECT_EQ(a.failures() + b.failures(), 0u);
  }
  auto r = verify(pk);
  EXPECT_TRUE(r.ok()) << problem(r);
  std::vector<std::string> order;
  std::vector<json::object> starts;
  for_each_audit_record(opts_.dir, [&](const json::object& rec) {
    if (rec.at("event_type") == "tool_call") order.emplace_back(rec.at("tool_name").as_string());
    if (rec.at("event_type") == "audit_start") starts.push_back(rec);
  });
  ASSERT_EQ(order.size(), 50u);
  EXPECT_EQ(order[0], "a0");
  EXPECT_EQ(order[1], "b0");
  EXPECT_EQ(order[49], "b24");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0].at("clean_shutdown"), true);  // the first writer was alone
  EXPECT_EQ(starts[1].at("other_writers"), true);   // the second joined it
  EXPECT_FALSE(starts[1].contains("clean_shutdown"));
  // Alone again after both closed: the last record is a shutdown checkpoint.
  { AuditLog c(opts_); }
  std::vector<json::object> again;
  for_each_audit_record(opts_.dir, [&](const json::object& rec) {
    if (rec.at("event_type") == "audit_start") again.push_back(rec);
  });
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[2].at("clean_shutdown"), true);
  EXPECT_TRUE(verify(pk).ok());
}

TEST_F(Audit, AWriterCountLeftByACrashIsReset) {
  // Writers killed with -9 leave their count behind in audit.writers; the
  // next writer that finds no other one alive starts the count over.
  auto count = [&] {
    std::ifstream in(opts_.dir / "audit.writers", std::ios::binary);
    std::uint32_t n = 0;
    in.read(reinterpret_cast<char*>(&n), sizeof n);
    return n;
  };
  { AuditLog first(opts_); }
  EXPECT_EQ(count(), 0u);
  {
    std::fstream f(opts_.dir / "audit.writers", std::ios::binary | std::ios::in | std::ios::out);
    std::uint32_t stale = 5;
    f.write(reinterpret_cast<const char*>(&stale), sizeof stale);
  }
  {
    AuditLog a(opts_);
    EXPECT_EQ(count(), 1u);
    AuditLog b(opts_);
    EXPECT_EQ(count(), 2u);  // b saw a alive: no reset
  }
  EXPECT_EQ(count(), 0u);
}

TEST_F(Audit, SeveralWritersFollowEachOthersRotationUnderLoad) {
  opts_.max_file_bytes = 4096;
  std::string pk;
  {
    AuditLog a(opts_);
    AuditLog b(opts_);
    pk = a.public_key();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        auto& log = t % 2 ? b : a;
        for (int i = 0; i < 150; ++i)
          log.append(json::object{{"event_type", "tool_call"},
                                  {"tool_name", fmt::format("t{}-{}", t, i)}});
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(a.failures() + b.failures(), 0u);
  }
  ASSERT_GT(audit_files(opts_.dir).size(), 5u);
  auto r = verify(pk);
  EXPECT_TRUE(r.ok()) << problem(r);
  std::size_t calls = 0;
  std::uint64_t last = 0;
  bool ordered = true;
  for_each_audit_record(opts_.dir, [&](const json::object& rec) {
    auto seq = rec.at("seq").to_number<std::uint64_t>();
    ordered = ordered && seq > last;  // checkpoints (skipped here) fill the gaps
    last = seq;
    if (rec.at("event_type") == "tool_call") ++calls;
  });
  EXPECT_TRUE(ordered);
  EXPECT_EQ(calls, 600u);
  // And a writer that joins later resumes from the newest file.
  AuditLog c(opts_);
  EXPECT_EQ(c.last_seq(), r.last_seq + 1);  // its audit_start
}

TEST_F(Audit, RotationKeepsTheChainAcrossFiles) {
  opts_.max_file_bytes = 4096;
  auto pk = write_log(200);
  auto files = audit_files(opts_.dir);
  ASSERT_GT(files.size(), 3u);
  auto r = verify(pk);
  EXPECT_TRUE(r.ok()) << problem(r);
  EXPECT_EQ(r.first_seq, 1u);
  // Any suffix of the files verifies on its own, anchored by the checkpoint
  // each file starts with.
  std::vector<fs::path> tail(files.end() - 2, files.end());
  auto t = verify_audit(tail, pk, opts_.dir / "audit.log.head");
  EXPECT_TRUE(t.ok()) << problem(t);
  EXPECT_GT(t.first_seq, 1u);
  // Removing a middle file breaks the chain.
  std::vector<fs::path> gap = files;
  gap.erase(gap.begin() + 1);
  EXPECT_FALSE(verify_audit(gap, pk, std::nullopt).ok());
  // keep_files prunes the oldest.
  opts_.keep_files = 2;
  {
    AuditLog log(opts_);
    for (int i = 0; i < 100; ++i) log.append(json::object{{"event_type", "x"}});
  }
  EXPECT_EQ(audit_files(opts_.dir).size(), 3u);
  EXPECT_TRUE(verify(pk).ok());
}

}  // namespace
}  // namespace bastion::audit
