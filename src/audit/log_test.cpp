// The writer: chaining, resuming, rotation and several writing processes.
#include "audit/log.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "audit/format.hpp"
#include "audit/key.hpp"
#include "audit/test_util.hpp"
#include "storage/private_file.hpp"

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
  crash_writer([&](AuditLog& log) { log.append(json::object{{"event_type", "tool_call"}}); });
  {
    AuditLog log(opts_);
    pk = log.public_key();
  }
  auto ls = lines();
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
  // A suffix of the files verifies when the operator names where it begins
  // (an archive moved away): each file starts with a checkpoint.
  std::vector<fs::path> tail(files.end() - 2, files.end());
  auto first = rotated_first_seq(tail.front());
  ASSERT_TRUE(first);
  auto t = verify_audit(tail, pinned(pk, *first));
  EXPECT_TRUE(t.ok()) << problem(t);
  EXPECT_EQ(t.first_seq, *first);
  // Removing a middle file breaks the chain.
  std::vector<fs::path> gap = files;
  gap.erase(gap.begin() + 1);
  EXPECT_FALSE(verify_audit(gap, pinned(pk)).ok());
}

TEST_F(Audit, TheGenesisNamesTheKeyAndIsSignedAtOnce) {
  std::string fp;
  {
    AuditLog log(opts_);
    fp = log.fingerprint();
    EXPECT_EQ(fp, key_fingerprint(*parse_public_key(log.public_key())));
  }
  auto rs = records();
  ASSERT_GE(rs.size(), 3u);
  EXPECT_EQ(rs[0].at("seq"), 1);
  EXPECT_EQ(rs[0].at("event_type"), "audit_start");
  EXPECT_EQ(rs[0].at("key_fingerprint").as_string(), fp);
  EXPECT_EQ(rs[1].at("event_type"), "audit_checkpoint");
  EXPECT_EQ(rs[1].at("reason"), "genesis");
}

TEST_F(Audit, RefusesToExtendALogWhoseEndWasCut) {
  write_log(10);
  auto orig = lines();
  std::string head = read_all(opts_.dir / "audit.log.head");
  auto refused = [&](const char* what) {
    try {
      AuditLog log(opts_);
      ADD_FAILURE() << "resumed a log with " << what;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("bastion audit verify"), std::string::npos) << e.what();
    }
  };
  auto cut = orig;
  cut.resize(cut.size() - 2);
  put_lines(cut);
  refused("records cut from the end");
  fs::remove(opts_.dir / "audit.log.head");
  refused("a deleted head file");
  std::ofstream(opts_.dir / "audit.log.head") << "garbage\n";
  refused("a garbled head file");
  // An unsigned head (as an earlier version wrote it) that agrees with the
  // log is the upgrade path; one that says more is still refused.
  std::ofstream(opts_.dir / "audit.log.head", std::ios::trunc)
      << fmt::format("{:020} {}\n", cut.size() + 2, std::string(64, 'a'));
  refused("an unsigned head beyond the end");
  std::ofstream(opts_.dir / "audit.log.head", std::ios::trunc)
      << fmt::format("{:020} {}\n", cut.size(), merkle::to_hex(merkle::leaf_hash(cut.back())));
  { AuditLog upgraded(opts_); }
  EXPECT_TRUE(verify("").ok()) << problem(verify(""));
}

TEST_F(Audit, RefusesAMissingReplacedOrUnpinnedKey) {
  write_log(3);
  auto key = opts_.dir / "audit.key";
  std::string orig = read_all(key);
  fs::remove(key);
  EXPECT_THROW(AuditLog log(opts_), std::runtime_error);  // no silent new key
  EXPECT_FALSE(fs::exists(key));
  AuditOptions other = opts_;
  other.dir = root_ / "other";
  { AuditLog o(other); }
  fs::copy_file(other.dir / "audit.key", key);
  try {
    AuditLog log(opts_);
    ADD_FAILURE() << "resumed with another key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("replaced"), std::string::npos) << e.what();
  }
  fs::remove(key);
  storage::write_private_file(key, orig);
  opts_.key_fingerprint = "SHA256:" + std::string(43, 'A');
  EXPECT_THROW(AuditLog log(opts_), std::runtime_error);
  std::string pk = storage::first_line(read_all(opts_.dir / "audit.pub"));
  opts_.key_fingerprint = key_fingerprint(*parse_public_key(pk));
  { AuditLog log(opts_); }
  EXPECT_TRUE(verify(pk).ok());
}

TEST_F(Audit, RetentionRemovesOldFilesAndVerifyStillHasAnAnchor) {
  opts_.max_file_bytes = 4096;
  opts_.retention.keep_files = 3;
  opts_.retention.max_total_bytes = 0;
  auto pk = write_log(300);
  auto files = audit_files(opts_.dir);
  EXPECT_EQ(files.size(), 4u);  // three rotated and the active one
  auto rs = records();
  EXPECT_GT(rs.front().at("seq").to_number<std::uint64_t>(), 1u);
  std::vector<json::object> retained;
  for (const auto& r : rs)
    if (r.at("event_type") == "audit_retention") retained.push_back(r);
  ASSERT_FALSE(retained.empty());
  EXPECT_EQ(retained.back().at("reason"), "keep_files");
  EXPECT_EQ(retained.back().at("first_seq").to_number<std::uint64_t>(),
            *rotated_first_seq(files.front()));
  auto r = verify(pk);
  EXPECT_TRUE(r.ok()) << problem(r);
  EXPECT_NE(r.beginning.find("retention"), std::string::npos) << r.beginning;
  // Deleting the oldest remaining file by hand is not retention.
  fs::remove(files.front());
  auto hand = verify(pk);
  ASSERT_FALSE(hand.ok());
  EXPECT_NE(problem(hand).find("must reach back to seq"), std::string::npos) << problem(hand);
}

TEST_F(Audit, AnUnsignedRetentionRecordExcusesNothing) {
  opts_.max_file_bytes = 4096;
  opts_.retention.max_total_bytes = 0;
  crash_writer([](AuditLog& log) {
    for (int i = 0; i < 200; ++i) log.append(json::object{{"event_type", "tool_call"}});
  });
  auto pk = storage::first_line(read_all(opts_.dir / "audit.pub"));
  auto files = audit_files(opts_.dir);
  ASSERT_GT(files.size(), 2u);
  ASSERT_TRUE(verify(pk).ok()) << problem(verify(pk));
  // The forger deletes the oldest file and appends a retention record
  // (chained, but after the newest signature) to excuse it.
  fs::remove(files.front());
  auto ls = lines();
  std::uint64_t seq = json::parse(ls.back()).at("seq").to_number<std::uint64_t>();
  json::object forged{{"seq", seq + 1},
                      {"ts", "2026-12-01T00:00:00.000Z"},
                      {"event_type", "audit_retention"},
                      {"reason", "keep_files"},
                      {"removed", json::array{files.front().filename().string()}},
                      {"first_seq", *rotated_first_seq(files[1])},
                      {"prev", merkle::to_hex(merkle::leaf_hash(ls.back()))}};
  ls.push_back(json::serialize(forged));
  put_lines(ls);
  auto r = verify(pk);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(problem(r).find("must reach back to its genesis"), std::string::npos) << problem(r);
}

TEST_F(Audit, RetentionBySizeAndAge) {
  opts_.max_file_bytes = 4096;
  opts_.retention.max_total_bytes = 5 * 4096;
  auto pk = write_log(400);
  std::uint64_t total = 0;
  for (const auto& f : audit_files(opts_.dir)) total += fs::file_size(f);
  EXPECT_LE(total, 5u * 4096 + 4096) << "the active file may exceed its size by one record";
  EXPECT_TRUE(verify(pk).ok()) << problem(verify(pk));
  // Age: files last written long ago go at the next start.
  opts_.retention.max_total_bytes = 0;
  opts_.retention.max_age = std::chrono::hours(24);
  auto files = audit_files(opts_.dir);
  ASSERT_GT(files.size(), 2u);
  auto old = fs::file_time_type::clock::now() - std::chrono::hours(48);
  fs::last_write_time(files[0], old);
  fs::last_write_time(files[1], old);
  { AuditLog log(opts_); }
  EXPECT_EQ(audit_files(opts_.dir).size(), files.size() - 2);
  auto rs = records();
  bool by_age = false;
  for (const auto& r : rs)
    by_age = by_age || (r.at("event_type") == "audit_retention" && r.at("reason") == "max_age");
  EXPECT_TRUE(by_age);
  EXPECT_TRUE(verify(pk).ok()) << problem(verify(pk));
}

}  // namespace
}  // namespace bastion::audit

namespace bastion::audit {
namespace {

using testing::Audit;

// Group commit: many threads appending at once get distinct, gapless seqs,
// each record exactly once, and one chain that verifies.
TEST_F(Audit, ConcurrentAppendsFormOneChain) {
  constexpr int kThreads = 8, kEach = 300;
  std::string pk;
  std::vector<std::vector<std::uint64_t>> seqs(kThreads);
  {
    AuditLog log(opts_);
    pk = log.public_key();
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i)
          seqs[t].push_back(log.append(json::object{{"event_type", "tool_call"},
                                                    {"tool_name", fmt::format("t{}-{}", t, i)}}));
      });
    for (auto& th : ts) th.join();
  }
  std::set<std::uint64_t> all;
  for (const auto& v : seqs)
    for (auto s : v) {
      EXPECT_NE(s, 0u);
      all.insert(s);
    }
  EXPECT_EQ(all.size(), std::size_t(kThreads * kEach));
  auto r = verify(pk);
  ASSERT_TRUE(r.ok()) << problem(r);
  // Each returned seq holds the record its caller appended.
  std::map<std::uint64_t, std::string> by_seq;
  for (const auto& rec : records())
    if (rec.at("event_type") == "tool_call")
      by_seq[rec.at("seq").to_number<std::uint64_t>()] =
          std::string(rec.at("tool_name").as_string());
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kEach; ++i) EXPECT_EQ(by_seq[seqs[t][i]], fmt::format("t{}-{}", t, i));
}

// The durability promise under group commit: a record is on file (written to
// the kernel) when append() returns, so a kill -9 right after the answer
// loses none of the acknowledged records, whichever thread's write carried it.
TEST_F(Audit, KillAfterConcurrentAppendsLosesNoAcknowledgedRecord) {
  constexpr int kThreads = 6;
  expect_no_acknowledged_record_lost(2000, [](AuditLog& log, const Ack& ack) {
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          std::string id = fmt::format("t{}-{}", t, i);
          ack(log.append(json::object{{"event_type", "tool_call"}, {"tool_name", id}}), id);
        }
      });
    for (auto& th : ts) th.join();
  });
}

}  // namespace
}  // namespace bastion::audit
