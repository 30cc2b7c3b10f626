// Verification: every kind of tampering is found where it happened.
#include "audit/verify.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>

#include "audit/format.hpp"
#include "audit/head.hpp"
#include "audit/key.hpp"
#include "audit/test_util.hpp"
#include "storage/private_file.hpp"

namespace bastion::audit {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::Audit;

TEST_F(Audit, EditingAByteIsDetectedWhereItHappened) {
  auto pk = write_log(25);
  auto ls = lines();
  std::size_t i = find_line(ls, "\"t4\"");
  ls[i][ls[i].find("\"t4\"") + 2] = '9';
  put_lines(ls);
  auto r = verify(pk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem->line, i + 2) << problem(r);  // the next record no longer links to it
  EXPECT_NE(problem(r).find(fmt::format("line {}", i + 1)), std::string::npos) << problem(r);
}

TEST_F(Audit, VerifiesThroughAnInjectedReader) {
  // The fuzzer's seam: the same log held in memory verifies as on disk, and
  // an edit made only in memory is found.
  auto pk = write_log(25);
  std::map<fs::path, std::string> files;
  for (const auto& f : audit_files(opts_.dir)) files[f] = read_all(f);
  files[opts_.dir / "audit.log.head"] = read_all(opts_.dir / "audit.log.head");
  auto read = [&](const fs::path& p) { return files.count(p) ? files[p] : std::string(); };
  auto on_disk = verify(pk);
  auto in_memory = verify_audit(audit_files(opts_.dir), pinned(pk), read);
  ASSERT_TRUE(on_disk.ok()) << problem(on_disk);
  ASSERT_TRUE(in_memory.ok()) << problem(in_memory);
  EXPECT_EQ(in_memory.records, on_disk.records);
  EXPECT_EQ(in_memory.last_seq, on_disk.last_seq);
  auto& text = files[opts_.dir / "audit.log"];
  text[text.find("\"t4\"") + 2] = '9';
  EXPECT_FALSE(verify_audit(audit_files(opts_.dir), pinned(pk), read).ok());
  EXPECT_TRUE(verify(pk).ok());  // the file itself is unchanged
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
  std::size_t at = find_line(ls, "\"t1\"");
  ls[at][ls[at].find("\"t1\"") + 2] = '7';
  for (std::size_t i = at + 1; i < ls.size(); ++i) {
    auto o = json::parse(ls[i]).as_object();
    o["prev"] = merkle::to_hex(merkle::leaf_hash(ls[i - 1]));
    ls[i] = json::serialize(o);
  }
  put_lines(ls);
  fs::remove(opts_.dir / "audit.log.head");
  auto r = verify_audit(audit_files(opts_.dir), pinned(pk, std::nullopt, false));
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
  EXPECT_NE(problem(r).find("not the pinned key"), std::string::npos) << problem(r);
  EXPECT_FALSE(parse_public_key("not-a-key"));
}

// --- the beginning -------------------------------------------------------------

TEST_F(Audit, DeletingTheOldestFileOrTheFirstRecordsFails) {
  opts_.max_file_bytes = 4096;
  auto pk = write_log(200);
  auto files = audit_files(opts_.dir);
  ASSERT_GT(files.size(), 3u);
  ASSERT_TRUE(verify(pk).ok()) << problem(verify(pk));
  auto second = rotated_first_seq(files[1]);
  ASSERT_TRUE(second);

  std::string oldest = read_all(files[0]);
  fs::remove(files[0]);
  auto r = verify(pk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem->file, files[1].string());
  EXPECT_EQ(r.problem->line, 1u);
  EXPECT_NE(problem(r).find("must reach back to its genesis"), std::string::npos) << problem(r);
  // The operator may name the checkpoint the remaining files begin with (an
  // archive moved elsewhere), and nothing later.
  auto from = verify(pk, *second);
  EXPECT_TRUE(from.ok()) << problem(from);
  EXPECT_FALSE(verify(pk, 2).ok());            // before the beginning
  EXPECT_FALSE(verify(pk, *second + 1).ok());  // not a checkpoint

  // The first records of the first file go instead.
  {
    std::ofstream out(files[0], std::ios::trunc);
    out << oldest;
  }
  ASSERT_TRUE(verify(pk).ok());
  auto ls = split_lines(oldest);
  for (std::size_t cut : {1u, 2u, 3u}) {  // line 2 is the genesis checkpoint
    std::ofstream out(files[0], std::ios::trunc);
    for (std::size_t i = cut; i < ls.size(); ++i) out << ls[i] << "\n";
    out.close();
    auto c = verify(pk);
    ASSERT_FALSE(c.ok()) << "cut " << cut;
    EXPECT_EQ(c.problem->file, files[0].string());
    EXPECT_EQ(c.problem->line, 1u) << problem(c);
  }
}

// --- the end ---------------------------------------------------------------------

// audit.log.head written the way an attacker without the key could: the
// unsigned format of earlier versions, or the signed one with another key.
std::string forged_head(std::uint64_t seq, const std::string& hash, const fs::path& other_dir,
                        bool legacy) {
  if (legacy) return fmt::format("{:020} {}\n", seq, hash);
  storage::ensure_private_dir(other_dir);
  auto k = AuditKey::load_or_create(other_dir, true);
  Head h;
  h.seq = seq;
  h.hash = hash;
  h.ts = now_iso8601();
  h.interval_ms = 200;
  h.key_id = k.key_id();
  h.sig = k.sign(head_message(h, k.fingerprint()));
  return format_head(h);
}

TEST_F(Audit, RecordsCutFromTheEndFailWhateverIsDoneToTheHead) {
  // Once after a crash (the head signed by the running writer), once after a
  // clean shutdown (the head marked shutdown).
  for (bool crash : {true, false}) {
    SCOPED_TRACE(crash ? "after a crash" : "after a clean shutdown");
    fs::remove_all(opts_.dir);
    std::string pk;
    if (crash) {
      crash_writer([](AuditLog& log) {
        for (int i = 0; i < 30; ++i) log.append(json::object{{"event_type", "tool_call"}});
      });
      pk = storage::first_line(read_all(opts_.dir / "audit.pub"));
    } else {
      pk = write_log(30);
    }
    auto head_file = opts_.dir / "audit.log.head";
    auto orig = lines();
    std::string head = read_all(head_file);
    auto ok = verify(pk);
    ASSERT_TRUE(ok.ok()) << problem(ok);
    EXPECT_EQ(ok.unsigned_records, 0u);  // the head caught up within its interval
    ASSERT_TRUE(ok.head);
    EXPECT_EQ(ok.head->shutdown, !crash);

    auto cut = orig;
    cut.resize(cut.size() - 3);
    auto new_last = merkle::to_hex(merkle::leaf_hash(cut.back()));
    std::uint64_t new_seq = json::parse(cut.back()).at("seq").to_number<std::uint64_t>();
    auto attempt = [&](const char* name, const std::optional<std::string>& head_text) {
      put_lines(cut);
      if (head_text) {
        std::ofstream out(head_file, std::ios::trunc | std::ios::binary);
        out << *head_text;
      } else {
        fs::remove(head_file);
      }
      for (const auto& key : {pk, std::string()}) {  // pinned, and trusted on first use
        auto r = verify(key);
        EXPECT_FALSE(r.ok()) << name << (key.empty() ? " (unpinned)" : " (pinned)");
      }
    };
    attempt("head kept", head);
    attempt("head deleted", std::nullopt);
    std::string garbled = head;
    garbled[10] ^= 0x20;
    attempt("head garbled", garbled);
    attempt("head rewritten unsigned", forged_head(new_seq, new_last, root_ / "k1", true));
    attempt("head re-signed with another key", forged_head(new_seq, new_last, root_ / "k2", false));
    // The head's own fields moved to the new end, its signature kept.
    auto h = parse_head(head);
    ASSERT_TRUE(h);
    h->seq = new_seq;
    h->hash = new_last;
    attempt("head fields rewritten", format_head(*h));
    put_lines(orig);
    std::ofstream(head_file, std::ios::trunc | std::ios::binary) << head;
    EXPECT_TRUE(verify(pk).ok());
  }
}

TEST_F(Audit, EditsAfterTheLastCheckpointAreCaughtByTheSignedHead) {
  opts_.checkpoint_every = 1000;  // nothing after the genesis checkpoint is checkpointed
  crash_writer([](AuditLog& log) {
    for (int i = 0; i < 20; ++i)
      log.append(json::object{{"event_type", "tool_call"}, {"tool_name", "t" + std::to_string(i)}});
  });
  auto pk = storage::first_line(read_all(opts_.dir / "audit.pub"));
  auto head_file = opts_.dir / "audit.log.head";
  ASSERT_TRUE(verify(pk).ok()) << problem(verify(pk));
  auto ls = lines();
  // Edit a record and re-link every later one, as a forger without the key would.
  std::size_t at = find_line(ls, "\"t5\"");
  ls[at].replace(ls[at].find("\"t5\""), 4, "\"tX\"");
  for (std::size_t i = at + 1; i < ls.size(); ++i) {
    auto o = json::parse(ls[i]).as_object();
    o["prev"] = merkle::to_hex(merkle::leaf_hash(ls[i - 1]));
    ls[i] = json::serialize(o);
  }
  put_lines(ls);
  auto r = verify(pk);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(problem(r).find("signed head"), std::string::npos) << problem(r);
  // Rewriting the head to match needs the key.
  auto last = merkle::to_hex(merkle::leaf_hash(ls.back()));
  std::uint64_t seq = json::parse(ls.back()).at("seq").to_number<std::uint64_t>();
  for (bool legacy : {true, false}) {
    std::ofstream(head_file, std::ios::trunc | std::ios::binary)
        << forged_head(seq, last, root_ / (legacy ? "k1" : "k2"), legacy);
    EXPECT_FALSE(verify(pk).ok()) << legacy;
  }
}

TEST_F(Audit, RecordsAppendedAfterACleanShutdownFail) {
  auto pk = write_log(5);
  auto ls = lines();
  auto add = [&](std::string_view type) {
    std::uint64_t seq = json::parse(ls.back()).at("seq").to_number<std::uint64_t>();
    ls.push_back(
        json::serialize(json::object{{"seq", seq + 1},
                                     {"ts", "2026-12-01T00:00:00.000Z"},
                                     {"event_type", type},
                                     {"prev", merkle::to_hex(merkle::leaf_hash(ls.back()))}}));
  };
  add("audit_start");  // what a writer that died while starting leaves: tolerated
  put_lines(ls);
  auto r = verify(pk);
  EXPECT_TRUE(r.ok()) << problem(r);
  EXPECT_EQ(r.unsigned_records, 1u);
  add("tool_call");  // anything else: forged
  put_lines(ls);
  r = verify(pk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.problem->line, ls.size());
  EXPECT_NE(problem(r).find("after the clean shutdown"), std::string::npos) << problem(r);
}

// A clock for AuditOptions::clock that the test steps: the system clock plus
// `offset` milliseconds.
struct SteppedClock {
  std::shared_ptr<std::atomic<std::int64_t>> offset =
      std::make_shared<std::atomic<std::int64_t>>(0);
  std::chrono::system_clock::time_point operator()() const {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(offset->load());
  }
};

TEST_F(Audit, AnOldHeadPutBackOnALogCutAtALaterCheckpointFails) {
  // Someone kept a copy of audit.log.head signed while the writer ran; the
  // log went on (checkpoints and all) for ten seconds; they cut it after a
  // later checkpoint and put the old head back.
  SteppedClock clock;
  opts_.clock = clock;
  opts_.checkpoint_every = 3;
  std::string pk, old_head;
  auto head_file = opts_.dir / "audit.log.head";
  clock.offset->store(-10'000);  // these were written ten seconds ago
  {
    AuditLog log(opts_);
    pk = log.public_key();
    old_head = read_all(head_file);
    for (int i = 0; i < 4; ++i) log.append(json::object{{"event_type", "tool_call"}});
    clock.offset->store(0);
    for (int i = 0; i < 7; ++i) log.append(json::object{{"event_type", "tool_call"}});
  }
  auto ok = verify(pk);
  ASSERT_TRUE(ok.ok()) << problem(ok);
  auto ls = lines();
  std::size_t cut = 0;
  for (std::size_t i = 0; i < ls.size(); ++i)
    if (ls[i].find(R"("reason":"periodic")") != std::string::npos) cut = i;
  ASSERT_GT(cut, 6u);
  ls.resize(cut + 1);
  put_lines(ls);
  std::ofstream(head_file, std::ios::trunc | std::ios::binary) << old_head;
  auto r = verify(pk);
  ASSERT_FALSE(r.ok()) << "an old head passed on a log cut at a later checkpoint";
  EXPECT_NE(problem(r).find("the signed head is older than the log it ends"), std::string::npos)
      << problem(r);
  EXPECT_LE(r.problem->line, ls.size());
  // Not pinned: the same.
  EXPECT_FALSE(verify("").ok());
  // Nor does Bastion extend it (a head signed now would cover the cut).
  try {
    AuditLog again(opts_);
    ADD_FAILURE() << "a writer resumed the cut log";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("older than the log it ends"), std::string::npos)
        << e.what();
  }
  r = verify(pk);
  EXPECT_FALSE(r.ok());
}

TEST_F(Audit, ACrashRightAfterAClockStepAndACheckpointStillVerifies) {
  // The clock steps ten seconds forward between two records and the writer
  // is killed right after a checkpoint, before its background tick signs
  // anything: the writer signed the head before the stepped record, so the
  // records the head does not cover stay within its window.
  SteppedClock clock;
  opts_.clock = clock;
  clock.offset->store(-10'000);
  crash_writer(
      [&](AuditLog& log) {
        for (int i = 0; i < 3; ++i) log.append(json::object{{"event_type", "tool_call"}});
        clock.offset->store(0);
        for (int i = 0; i < 2; ++i) log.append(json::object{{"event_type", "tool_call"}});
        log.checkpoint();
      },
      std::chrono::milliseconds(0));
  auto r = verify("");
  EXPECT_TRUE(r.ok()) << problem(r);
  // And a writer that resumes it (its first record stamped now) signs first.
  clock.offset->store(0);
  write_log(2);
  r = verify("");
  EXPECT_TRUE(r.ok()) << problem(r);
}

// --- the key ---------------------------------------------------------------------

TEST_F(Audit, APinnedKeyRefusesALogWrittenWithAnotherKey) {
  auto pk = write_log(5);
  auto fp = key_fingerprint(*parse_public_key(pk));
  ASSERT_TRUE(verify(pk).ok());
  // The forger writes a whole consistent log of their own and puts it (and
  // its audit.pub) in place of the real one.
  AuditOptions forged = opts_;
  forged.dir = root_ / "forged";
  {
    AuditLog log(forged);
    for (int i = 0; i < 5; ++i) log.append(json::object{{"event_type", "tool_call"}});
  }
  fs::remove_all(opts_.dir);
  fs::copy(forged.dir, opts_.dir);
  auto by_key = verify(pk);
  ASSERT_FALSE(by_key.ok());
  EXPECT_NE(problem(by_key).find("not the pinned key"), std::string::npos) << problem(by_key);
  auto o = pinned("");
  o.fingerprint = fp;
  auto by_fp = verify_audit(audit_files(opts_.dir), o);
  ASSERT_FALSE(by_fp.ok());
  EXPECT_NE(problem(by_fp).find("not the pinned key " + fp), std::string::npos) << problem(by_fp);
  // Not pinned, it is consistent, and the report says it proves nothing more.
  auto tofu = verify("");
  EXPECT_TRUE(tofu.ok()) << problem(tofu);
  EXPECT_FALSE(tofu.key_pinned);
  ASSERT_FALSE(tofu.warnings.empty());
  EXPECT_NE(tofu.warnings.back().find("not pinned"), std::string::npos);
}

TEST_F(Audit, FingerprintsParseTheWayOperatorsTypeThem) {
  auto pk = write_log(1);
  auto fp = key_fingerprint(*parse_public_key(pk));
  EXPECT_EQ(fp.rfind("SHA256:", 0), 0u);
  EXPECT_EQ(fp.size(), 7u + 43u);
  EXPECT_EQ(parse_fingerprint(fp), fp);
  EXPECT_EQ(parse_fingerprint(fp.substr(7)), fp);
  EXPECT_EQ(parse_fingerprint(fp + "="), fp);
  EXPECT_FALSE(parse_fingerprint("SHA256:abc"));
  EXPECT_FALSE(parse_fingerprint(fp.substr(0, fp.size() - 1) + "!"));
}

}  // namespace
}  // namespace bastion::audit
