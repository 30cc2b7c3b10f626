// Verification of an audit log (see verify.hpp).
#include "audit/verify.hpp"

#include <fmt/format.h>

#include "audit/format.hpp"
#include "audit/key.hpp"

namespace bastion::audit {

namespace fs = std::filesystem;

AuditReport verify_audit(const std::vector<fs::path>& files, const VerifyOptions& o) {
  return verify_audit(files, o, [](const fs::path& p) { return read_all(p); });
}

AuditReport verify_audit(const std::vector<fs::path>& files, const VerifyOptions& o,
                         const ReadFile& read) {
  AuditReport rep;
  auto fail = [&](const fs::path& f, std::uint64_t line, std::uint64_t seq, std::string what) {
    if (!rep.problem) rep.problem = AuditProblem{f.string(), line, seq, std::move(what)};
  };
  // The key: pinned, or taken from the first record that names one.
  std::optional<std::string> pk = o.public_key;
  std::optional<std::string> pinned_fp = o.fingerprint;
  rep.key_pinned = o.public_key || o.fingerprint;
  if (pk) {
    rep.fingerprint = key_fingerprint(*pk);
    if (pinned_fp && *pinned_fp != rep.fingerprint) {
      rep.problem = AuditProblem{"", 0, 0,
                                 fmt::format("the public key given has fingerprint {}, not {}",
                                             rep.fingerprint, *pinned_fp)};
      return rep;
    }
  }
  std::string key_id = pk ? compute_key_id(*pk) : std::string();

  // Records stamped from now on were appended while this runs, after heads
  // newer than the one read here: not held to its window (below).
  const std::int64_t started = now_ms();
  // The head is read before the files, so a writer appending meanwhile only
  // adds records after it.
  std::optional<Head> head;
  std::string head_text;
  if (o.head_file) {
    head_text = read(*o.head_file);
    head = parse_head(head_text);
  }

  std::optional<std::uint64_t> expect_seq;
  std::string expect_prev;  // empty: unknown (log begins mid-chain)
  std::optional<merkle::CompactRange> range;
  std::string last_hash;
  fs::path last_file;
  std::uint64_t last_line = 0;
  bool last_is_checkpoint = false;
  // (seq of the audit_retention record, the first_seq it names)
  std::vector<std::pair<std::uint64_t, std::uint64_t>> retentions;
  bool named_checkpoint_found = false;
  bool key_seen = false;  // a record named the key
  // The first record after the head that a starting writer would not have
  // written before signing a new head (see the shutdown check below).
  std::optional<AuditProblem> appended_after_head;
  // The records after the head must lie within its window (head.hpp).
  std::optional<HeadWindow> window;
  if (head) window.emplace(*head, started);
  std::optional<AuditProblem> beyond_head_window;

  for (const auto& f : files) {
    std::string text = read(f);
    if (text.empty()) continue;
    auto lines = split_lines(text);
    bool torn = text.back() != '\n';
    for (std::size_t i = 0; i < lines.size() && !rep.problem; ++i) {
      std::uint64_t ln = i + 1;
      std::string_view line = lines[i];
      if (torn && i + 1 == lines.size()) {
        fail(f, ln, expect_seq.value_or(0),
             "the last record is incomplete: the file was truncated inside a record");
        break;
      }
      auto rec = parse_record(line);
      auto seq = rec ? get_u64(*rec, "seq") : std::nullopt;
      if (!rec || !seq) {
        fail(f, ln, expect_seq.value_or(0),
             "not a valid record (not a JSON object with a seq): the line was edited");
        break;
      }
      if (expect_seq && *seq != *expect_seq) {
        if (*seq > *expect_seq)
          fail(f, ln, *seq,
               fmt::format("seq jumps from {} to {}: {} record(s) were removed here",
                           *expect_seq - 1, *seq, *seq - *expect_seq));
        else
          fail(f, ln, *seq,
               fmt::format("seq {} follows seq {}: records were reordered or duplicated", *seq,
                           *expect_seq - 1));
        break;
      }
      std::string prev = get_str(*rec, "prev");
      bool checkpoint = is_checkpoint(*rec);
      if (!expect_seq) {
        rep.first_seq = *seq;
        if (*seq == 1) {
          if (prev != kZeroHash) {
            fail(f, ln, *seq, "seq 1 does not start a chain (its prev is not all zeros)");
            break;
          }
          expect_prev = kZeroHash;
          range.emplace();
        } else if (!checkpoint) {
          fail(f, ln, *seq,
               fmt::format("the log begins at seq {} with a record that is not a signed "
                           "checkpoint: the records before it were removed",
                           *seq));
          break;
        }
      }
      if (!expect_prev.empty() && prev != expect_prev) {
        fail(f, ln, *seq,
             ln > 1 ? fmt::format("prev hash does not match line {}: that record was edited, or a "
                                  "record was removed or moved here",
                                  ln - 1)
                    : "prev hash does not match the end of the previous file");
        break;
      }
      // A record that names the key: the first one sets it (unless pinned),
      // every later one must agree.
      if (auto* v = rec->if_contains("public_key")) {
        auto named = v->is_string() ? parse_public_key(v->get_string()) : std::nullopt;
        if (!named) {
          fail(f, ln, *seq, "the record names a public key that is not an Ed25519 key");
          break;
        }
        std::string named_fp = key_fingerprint(*named);
        if (!pk) {
          if (pinned_fp && named_fp != *pinned_fp) {
            fail(f, ln, *seq,
                 fmt::format("the log is signed with key {}, not the pinned key {}", named_fp,
                             *pinned_fp));
            break;
          }
          pk = *named;
          rep.fingerprint = named_fp;
          key_id = compute_key_id(*pk);
        } else if (*named != *pk) {
          fail(f, ln, *seq,
               o.public_key && !key_seen
                   ? fmt::format("the log is signed with key {}, not the pinned key {}", named_fp,
                                 rep.fingerprint)
                   : fmt::format("the record names key {} but the log is signed with {}: the key "
                                 "was replaced",
                                 named_fp, rep.fingerprint));
          break;
        }
        key_seen = true;
      }
      if (checkpoint) {
        auto size = get_u64(*rec, "tree_size");
        std::string root = get_str(*rec, "root");
        std::string head_hex = get_str(*rec, "head");
        if (!size || *size + 1 != *seq || head_hex != prev) {
          fail(f, ln, *seq, "checkpoint does not describe the records before it");
          break;
        }
        if (!pk) {
          fail(f, ln, *seq,
               "checkpoint names no public key (an earlier format): give the key with --pubkey");
          break;
        }
        std::string msg = signed_message(get_str(*rec, "key_id"), *size, root, head_hex);
        if (get_str(*rec, "key_id") != key_id || !signature_valid(*pk, msg, get_str(*rec, "sig"))) {
          fail(f, ln, *seq, "checkpoint signature is not valid for this public key");
          break;
        }
        auto saved = range_of(*rec);
        if (!saved || merkle::to_hex(saved->root()) != root) {
          fail(f, ln, *seq, "checkpoint's compact range does not match its root");
          break;
        }
        if (range && merkle::to_hex(range->root()) != root) {
          fail(f, ln, *seq,
               "Merkle root differs from the records before it: a record before this checkpoint "
               "was altered");
          break;
        }
        if (!range) range = std::move(saved);
        if (expect_prev.empty()) expect_prev = prev;  // now anchored by a signature
        ++rep.checkpoints;
        rep.last_checkpoint_seq = *seq;
        if (o.from_checkpoint && *seq == *o.from_checkpoint) named_checkpoint_found = true;
      }
      if (get_str(*rec, "event_type") == kRetention) {
        if (auto first = get_u64(*rec, "first_seq")) retentions.emplace_back(*seq, *first);
      }
      auto leaf = merkle::leaf_hash(line);
      if (range) range->append(leaf);
      last_hash = merkle::to_hex(leaf);
      if (head && *seq == head->seq && last_hash != head->hash)
        fail(f, ln, *seq, "this record is not the one the signed head covers: it was altered");
      if (head && *seq > head->seq && !appended_after_head && !checkpoint &&
          get_str(*rec, "event_type") != "audit_start")
        appended_after_head = AuditProblem{f.string(), ln, *seq, ""};
      if (window && *seq > head->seq && !beyond_head_window)
        if (auto what = window->add(*seq, get_str(*rec, "ts")))
          beyond_head_window = AuditProblem{f.string(), ln, *seq, std::move(*what)};
      expect_prev = last_hash;
      expect_seq = *seq + 1;
      rep.last_seq = *seq;
      ++rep.records;
      last_file = f;
      last_line = ln;
      last_is_checkpoint = checkpoint;
    }
    if (rep.problem) return rep;
  }
  fs::path first_file = files.empty() ? fs::path() : files.front();

  if (rep.records == 0) {
    if (head && !head->legacy && head->seq > 0)
      fail(o.head_file ? *o.head_file : first_file, 0, 0,
           fmt::format("the log has no records but its signed head covers seq {}: the records "
                       "were removed",
                       head->seq));
    else
      rep.notes.push_back("no records");
    return rep;
  }
  // Where it ends.
  std::uint64_t signed_to = rep.last_checkpoint_seq;
  if (o.head_file) {
    if (!head) {
      fail(*o.head_file, 0, 0,
           head_text.empty()
               ? "the signed head file is missing: records cut from the end of the log cannot be "
                 "ruled out"
               : "the signed head file is garbled: records cut from the end of the log cannot be "
                 "ruled out");
      return rep;
    }
    if (head->legacy) {
      fail(*o.head_file, 0, 0,
           "the head file is unsigned (written by an earlier version): the end of the log is not "
           "anchored; start Bastion once to sign it");
      return rep;
    }
    if (!pk || !signature_valid(*pk, head_message(*head, rep.fingerprint), head->sig)) {
      fail(*o.head_file, 0, 0,
           fmt::format("the signed head's signature is not valid for key {}: the file was "
                       "rewritten",
                       rep.fingerprint));
      return rep;
    }
    if (head->seq > rep.last_seq) {
      fail(last_file, last_line, rep.last_seq,
           fmt::format("the log ends at seq {} but its signed head (signed {}) covers seq {}: {} "
                       "record(s) were removed from the end",
                       rep.last_seq, head->ts, head->seq, head->seq - rep.last_seq));
      return rep;
    }
    if (head->shutdown && appended_after_head) {
      // After a clean shutdown the next writer signs a new head before it
      // writes anything but its audit_start: these came from elsewhere.
      auto p = *appended_after_head;
      fail(p.file, p.line, p.seq,
           fmt::format("record(s) were appended after the clean shutdown the signed head records "
                       "(seq {}, {}) and are signed by nothing",
                       head->seq, head->ts));
      return rep;
    }
    if (beyond_head_window) {
      rep.problem = std::move(beyond_head_window);
      return rep;
    }
    rep.head = head;
    signed_to = std::max(signed_to, head->seq);
  } else if (!last_is_checkpoint) {
    fail(last_file, last_line, rep.last_seq,
         "the file ends with a record that is not a signed checkpoint: records were removed from "
         "its end (a rotated file ends with its rotation checkpoint; give the active file too to "
         "check the end against the signed head)");
    return rep;
  }
  // Where the log must begin.
  std::uint64_t must_begin = 1;
  rep.beginning = "genesis";
  if (o.from_checkpoint) {
    must_begin = *o.from_checkpoint;
    rep.beginning = fmt::format("checkpoint seq {} (named by the operator)", must_begin);
  } else {
    // Only a signed retention record counts: one appended after the newest
    // signature could say anything.
    for (auto it = retentions.rbegin(); it != retentions.rend(); ++it)
      if (it->first <= signed_to) {
        must_begin = it->second;
        rep.beginning = fmt::format("seq {} (retention removed older files, record seq {})",
                                    must_begin, it->first);
        break;
      }
  }
  if (rep.first_seq > must_begin) {
    fail(first_file, 1, rep.first_seq,
         fmt::format("the log begins at seq {} but must reach back to {}: the files or records "
                     "before seq {} were removed",
                     rep.first_seq,
                     must_begin == 1 ? std::string("its genesis (seq 1)") : rep.beginning,
                     rep.first_seq));
    return rep;
  }
  if (o.from_checkpoint && !named_checkpoint_found) {
    fail(first_file, 0, *o.from_checkpoint,
         fmt::format("seq {} is not a signed checkpoint of this log", *o.from_checkpoint));
    return rep;
  }
  if (rep.first_seq > 1 && !o.from_checkpoint)
    rep.notes.push_back(fmt::format("the log begins at seq {}: {}", rep.first_seq, rep.beginning));

  rep.unsigned_records = rep.last_seq - std::min(signed_to, rep.last_seq);
  if (rep.head && rep.head->shutdown && rep.unsigned_records == 0)
    rep.notes.push_back(fmt::format("the last writer stopped cleanly at {}", rep.head->ts));
  else if (rep.head)
    rep.notes.push_back(fmt::format(
        "the head was signed at {} by a writer that was running then (it is running now, or it "
        "did not stop cleanly)",
        rep.head->ts));
  if (rep.unsigned_records > 0)
    rep.warnings.push_back(fmt::format(
        "{} record(s) after seq {} are chained but not yet signed: written within the writer's "
        "sign interval ({} ms) before it was stopped without a clean shutdown, or by a writer "
        "that is running",
        rep.unsigned_records, signed_to, rep.head ? rep.head->interval_ms : 0));
  if (!rep.key_pinned)
    rep.warnings.push_back(fmt::format(
        "the key was not pinned: the log is consistently signed with {}, the key its own first "
        "record names; pass --key {} (from Bastion's log at its first start, or `bastion doctor`) "
        "to prove that this is the key you trust",
        rep.fingerprint, rep.fingerprint));
  return rep;
}

}  // namespace bastion::audit
