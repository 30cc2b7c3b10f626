// Verification of an audit log against its public key and head file.
#include "audit/verify.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <cstdio>

#include "audit/format.hpp"
#include "protocol/base64.hpp"

namespace bastion::audit {

using protocol::base64_decode;

namespace fs = std::filesystem;

AuditReport verify_audit(const std::vector<fs::path>& files, const std::string& public_key_b64,
                         const std::optional<fs::path>& head_file) {
  AuditReport rep;
  auto fail = [&](const fs::path& f, std::uint64_t line, std::uint64_t seq, std::string what) {
    if (!rep.problem) rep.problem = AuditProblem{f.string(), line, seq, std::move(what)};
  };
  auto pk = base64_decode(public_key_b64);
  while (pk && pk->size() != crypto_sign_PUBLICKEYBYTES) pk.reset();
  if (!pk) {
    rep.problem = AuditProblem{"", 0, 0, "the public key is not a base64 Ed25519 key"};
    return rep;
  }
  std::string key_id = compute_key_id(*pk);

  // The head file says where the log must end.
  std::optional<std::uint64_t> head_seq;
  std::string head_hash;
  if (head_file) {
    std::string h = read_all(*head_file);
    unsigned long long s = 0;
    char hex[65] = {};
    if (h.size() == kHeadBytes && std::sscanf(h.c_str(), "%20llu %64s", &s, hex) == 2) {
      head_seq = s;
      head_hash = hex;
    } else {
      rep.notes.push_back("head file " + head_file->string() +
                          " is unreadable; truncation at a "
                          "record boundary after the last checkpoint cannot be detected");
    }
  }

  std::optional<std::uint64_t> expect_seq;
  std::string expect_prev;  // empty: unknown (log begins mid-chain)
  std::optional<merkle::CompactRange> range;
  std::string last_hash;
  fs::path last_file;
  std::uint64_t last_line = 0;

  for (const auto& f : files) {
    std::string text = read_all(f);
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
      if (!expect_seq) {
        rep.first_seq = *seq;
        if (*seq == 1) {
          expect_prev = kZeroHash;
          range.emplace();
        } else {
          rep.notes.push_back(fmt::format(
              "{} begins at seq {}: it continues files not given here (their records are not "
              "checked)",
              f.string(), *seq));
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
      if (is_checkpoint(*rec)) {
        auto size = get_u64(*rec, "tree_size");
        std::string root = get_str(*rec, "root");
        std::string head = get_str(*rec, "head");
        std::string msg = signed_message(get_str(*rec, "key_id"), size.value_or(0), root, head);
        auto sig = base64_decode(get_str(*rec, "sig"));
        if (!size || *size + 1 != *seq || head != prev) {
          fail(f, ln, *seq, "checkpoint does not describe the records before it");
          break;
        }
        if (get_str(*rec, "key_id") != key_id || !sig || sig->size() != crypto_sign_BYTES ||
            crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                        reinterpret_cast<const unsigned char*>(msg.data()),
                                        msg.size(),
                                        reinterpret_cast<const unsigned char*>(pk->data())) != 0) {
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
      }
      auto leaf = merkle::leaf_hash(line);
      if (range) range->append(leaf);
      last_hash = merkle::to_hex(leaf);
      if (head_seq && *seq == *head_seq && last_hash != head_hash)
        fail(f, ln, *seq, "this record does not match the head file: it was altered");
      expect_prev = last_hash;
      expect_seq = *seq + 1;
      rep.last_seq = *seq;
      ++rep.records;
      last_file = f;
      last_line = ln;
    }
    if (rep.problem) return rep;
  }
  if (rep.records == 0) {
    rep.notes.push_back("no records");
    return rep;
  }
  if (head_seq && *head_seq > rep.last_seq)
    fail(last_file, last_line, rep.last_seq,
         fmt::format("the log ends at seq {} but its head file records seq {}: {} record(s) were "
                     "removed from the end",
                     rep.last_seq, *head_seq, *head_seq - rep.last_seq));
  if (rep.checkpoints == 0)
    rep.notes.push_back("no signed checkpoint yet: the records are covered by the hash chain only");
  else if (rep.last_checkpoint_seq < rep.last_seq)
    rep.notes.push_back(fmt::format(
        "{} record(s) after the last checkpoint (seq {}) are covered by the hash chain and head "
        "file, not yet by a signature (normal after a crash)",
        rep.last_seq - rep.last_checkpoint_seq, rep.last_checkpoint_seq));
  return rep;
}

}  // namespace bastion::audit
