// `bastion audit verify` (audit::verify_audit) on logs held in memory: the
// chain, checkpoints, Merkle roots, signatures, the signed head, where the
// log begins and ends. Input: the first byte holds the options (pin the key
// of the seed logs, name a checkpoint, check the head), the rest is the head
// file's text and then each log file, separated by form feeds ('\f').
// Promises checked: verifying is deterministic; an accepted log is
// consistent (its seqs run without gaps from first to last, its unsigned
// records are among them, its head covers one of them); a rejection says
// what and where.
#include <map>
#include <vector>

#include "audit/key.hpp"
#include "audit/verify.hpp"
#include "fuzz_util.hpp"

namespace {

using namespace bastion;
using namespace bastion::audit;
namespace fs = std::filesystem;

// The public key of the seed logs in fuzz/audit_verify/ (base64).
constexpr std::string_view kSeedKey = "k7pDdVj7qLvs83/7/40Tea5OjMu0cCLz1GYvrw7SGns=";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::uint8_t flags = data[0];
  std::string_view rest = fuzz::as_text(data + 1, size - 1);
  std::map<fs::path, std::string> files;
  std::vector<fs::path> order;
  std::string head = std::string(fuzz::take(rest, '\f'));
  files["/audit/audit.log.head"] = head;
  for (int i = 0; !rest.empty() && i < 8; ++i) {
    fs::path p = rest.find('\f') == std::string_view::npos
                     ? fs::path("/audit/audit.log")
                     : fs::path("/audit/audit-" + std::to_string(100000000001 + i) + ".log");
    files[p] = std::string(fuzz::take(rest, '\f'));
    order.push_back(p);
  }
  VerifyOptions o;
  if (flags & 1) o.public_key = parse_public_key(kSeedKey);
  if (flags & 2) o.from_checkpoint = flags >> 4;
  if (flags & 4) o.head_file = "/audit/audit.log.head";
  if ((flags & 8) && o.public_key) o.fingerprint = key_fingerprint(*o.public_key);
  auto read = [&](const fs::path& p) {
    auto it = files.find(p);
    return it == files.end() ? std::string() : it->second;
  };
  AuditReport r = verify_audit(order, o, read);
  AuditReport again = verify_audit(order, o, read);
  FUZZ_CHECK(r.ok() == again.ok() && r.records == again.records);
  if (!r.ok()) {
    FUZZ_CHECK(!r.problem->what.empty());
    FUZZ_CHECK(r.problem->what == again.problem->what);
    return 0;
  }
  if (r.records > 0) {
    FUZZ_CHECK(r.last_seq >= r.first_seq && r.last_seq - r.first_seq + 1 == r.records);
    FUZZ_CHECK(r.unsigned_records <= r.records);
    FUZZ_CHECK(!r.fingerprint.empty());
  }
  if (r.head) FUZZ_CHECK(r.head->seq <= r.last_seq);
  return 0;
}
