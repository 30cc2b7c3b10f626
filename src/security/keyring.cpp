#include "security/keyring.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "storage/private_file.hpp"

namespace bastion::security {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> read_keys(const fs::path& file) {
  std::string why;
  auto text = storage::read_private_file(file, &why);
  if (!text) throw std::runtime_error("Fernet keys: " + why);
  std::vector<std::string> keys;
  std::size_t start = 0, line = 0;
  while (start < text->size()) {
    auto nl = text->find('\n', start);
    if (nl == std::string::npos) nl = text->size();
    std::string k = text->substr(start, nl - start);
    start = nl + 1;
    ++line;
    if (!k.empty() && k.back() == '\r') k.pop_back();
    if (k.empty() || k[0] == '#') continue;
    if (!Fernet::from_key(k))
      throw std::runtime_error(
          fmt::format("Fernet keys: {} line {} is not a Fernet key (32 bytes of url-safe base64)",
                      file.string(), line));
    keys.push_back(std::move(k));
  }
  if (keys.empty()) throw std::runtime_error("Fernet keys: " + file.string() + " holds no key");
  return keys;
}

void write_keys(const fs::path& file, const std::vector<std::string>& keys) {
  std::string text = "# Bastion Fernet keys, newest first. Keep this file secret.\n";
  for (const auto& k : keys) text += k + "\n";
  storage::write_private_file(file, text);
}

MultiFernet ring(const std::vector<std::string>& keys) {
  std::vector<Fernet> fs;
  for (const auto& k : keys) fs.push_back(Fernet::from_key(k).value());
  return MultiFernet(std::move(fs));
}

}  // namespace

fs::path fernet_keys_file(const fs::path& dir) { return dir / "fernet.keys"; }

MultiFernet load_fernet_keys(const fs::path& dir, bool create) {
  auto file = fernet_keys_file(dir);
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (!create)
      throw std::runtime_error("Fernet keys: " + file.string() +
                               " does not exist (run `bastion keys rotate` to create one)");
    storage::ensure_private_dir(dir);
    write_keys(file, {Fernet::generate_key()});
    spdlog::info("security: generated a Fernet key in {}", file.string());
  }
  return ring(read_keys(file));
}

MultiFernet rotate_fernet_keys(const fs::path& dir) {
  auto file = fernet_keys_file(dir);
  std::vector<std::string> keys;
  std::error_code ec;
  if (fs::exists(file, ec))
    keys = read_keys(file);
  else
    storage::ensure_private_dir(dir);
  keys.insert(keys.begin(), Fernet::generate_key());
  write_keys(file, keys);
  return ring(keys);
}

MultiFernet trim_fernet_keys(const fs::path& dir, std::size_t keep) {
  auto file = fernet_keys_file(dir);
  auto keys = read_keys(file);
  if (keep > 0 && keys.size() > keep) {
    keys.resize(keep);
    write_keys(file, keys);
  }
  return ring(keys);
}

}  // namespace bastion::security
