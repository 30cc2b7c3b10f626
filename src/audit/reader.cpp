// Reading an audit directory: its files in chain order and its records.
#include "audit/reader.hpp"

#include <algorithm>
#include <fstream>
#include <string>

#include "audit/format.hpp"

namespace bastion::audit {

namespace fs = std::filesystem;
namespace json = boost::json;

std::vector<fs::path> audit_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto n = e.path().filename().string();
    if (n.size() == 22 && n.rfind("audit-", 0) == 0 && e.path().extension() == ".log")
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  if (fs::exists(dir / kActive, ec)) out.push_back(dir / kActive);
  return out;
}

std::vector<json::object> read_audit_records(const fs::path& dir, std::uint64_t before,
                                             std::size_t limit,
                                             const std::function<bool(const json::object&)>& keep) {
  std::vector<json::object> out;
  auto files = audit_files(dir);
  for (auto f = files.rbegin(); f != files.rend() && out.size() < limit; ++f) {
    std::string text = read_all(*f);
    auto lines = split_lines(text);
    for (auto it = lines.rbegin(); it != lines.rend() && out.size() < limit; ++it) {
      auto rec = parse_record(*it);
      if (!rec || is_checkpoint(*rec)) continue;
      auto seq = get_u64(*rec, "seq").value_or(0);
      if (before && seq >= before) continue;
      if (keep && !keep(*rec)) continue;
      rec->erase("prev");
      out.push_back(std::move(*rec));
    }
  }
  return out;
}

void for_each_audit_record(const fs::path& dir,
                           const std::function<void(const json::object&)>& visit) {
  std::string line;
  for (const auto& f : audit_files(dir)) {
    std::ifstream in(f, std::ios::binary);
    while (std::getline(in, line)) {
      auto rec = parse_record(line);
      if (rec && !is_checkpoint(*rec)) visit(*rec);
    }
  }
}

}  // namespace bastion::audit
