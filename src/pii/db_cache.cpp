#include "pii/db_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>

#include <sodium.h>

#include "storage/private_file.hpp"

namespace bastion::pii {

namespace {

constexpr std::string_view kMagic = "bastion-pii-hsdb/1\n";
constexpr std::size_t kKeySize = 32, kSumSize = 32;
constexpr std::size_t kMaxBlobs = 16;
// A compiled database of the default set is a few hundred KiB; custom
// patterns can make it larger, not this large.
constexpr std::uint64_t kMaxFile = std::uint64_t{256} << 20;

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::uint64_t get_u64(std::string_view s) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

std::string hex(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool fail(std::string* why, std::string_view what) {
  if (why) *why = what;
  return false;
}

// A cache file's name: "pii-", 64 lowercase hex digits, ".hsdb".
bool is_cache_file_name(std::string_view name) {
  constexpr std::string_view kPrefix = "pii-", kSuffix = ".hsdb";
  if (name.size() != kPrefix.size() + 2 * kKeySize + kSuffix.size() ||
      !name.starts_with(kPrefix) || !name.ends_with(kSuffix))
    return false;
  for (char c : name.substr(kPrefix.size(), 2 * kKeySize))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

// libsodium's SHA-256, not OpenSSL's: the first OpenSSL digest of a process
// loads its configuration and providers (~1 ms), which was most of what was
// left of a short `pii scan`'s start once the databases were cached; the
// scan itself needs nothing else from OpenSSL. Same digest either way.
std::string sha256_raw(std::string_view data) {
  [[maybe_unused]] static const bool ready = sodium_init() >= 0;  // as libsodium asks; cheap
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

std::filesystem::path db_cache_file(const std::filesystem::path& dir, std::string_view key) {
  return dir / ("pii-" + hex(key) + ".hsdb");
}

std::optional<std::vector<std::string>> load_db_cache(const std::filesystem::path& dir,
                                                      std::string_view key, std::string* why) {
  if (key.size() != kKeySize) return fail(why, "bad key"), std::nullopt;
  // The directory and the file must be ours and closed to others: a
  // database someone else could write is code we would run.
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return fail(why, "no cache directory"), std::nullopt;
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077))
    return fail(why, "cache directory not private"), std::nullopt;
  const auto path = db_cache_file(dir, key);
  if (::lstat(path.c_str(), &st) != 0) return fail(why, "no cache file"), std::nullopt;
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || st.st_size > std::int64_t(kMaxFile))
    return fail(why, "cache file not a private regular file"), std::nullopt;
  std::optional<std::string> file;
  try {
    std::string reason;
    file = storage::read_private_file(path, &reason);
    if (!file) return fail(why, reason), std::nullopt;
  } catch (const std::exception& e) {
    return fail(why, e.what()), std::nullopt;
  }
  std::string_view s = *file;
  if (s.size() > kMaxFile) return fail(why, "too large"), std::nullopt;
  if (s.size() < kMagic.size() + kKeySize + 8 + kSumSize || !s.starts_with(kMagic))
    return fail(why, "not a cache file"), std::nullopt;
  const std::string_view body = s.substr(0, s.size() - kSumSize);
  if (sha256_raw(body) != s.substr(s.size() - kSumSize))
    return fail(why, "checksum does not match"), std::nullopt;
  std::string_view rest = body.substr(kMagic.size());
  if (rest.substr(0, kKeySize) != key)
    return fail(why, "written for another pattern set or platform"), std::nullopt;
  rest.remove_prefix(kKeySize);
  const std::uint64_t count = get_u64(rest);
  rest.remove_prefix(8);
  if (count > kMaxBlobs) return fail(why, "bad blob count"), std::nullopt;
  std::vector<std::string> blobs;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (rest.size() < 8) return fail(why, "cut short"), std::nullopt;
    const std::uint64_t len = get_u64(rest);
    rest.remove_prefix(8);
    if (len > rest.size()) return fail(why, "cut short"), std::nullopt;
    blobs.emplace_back(rest.substr(0, len));
    rest.remove_prefix(len);
  }
  if (!rest.empty()) return fail(why, "trailing bytes"), std::nullopt;
  // In use: its age starts again (prune_db_cache removes files no process
  // loaded or wrote for kDbCacheMaxAge). A read-only directory only keeps
  // the old time.
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
  return blobs;
}

bool store_db_cache(const std::filesystem::path& dir, std::string_view key,
                    const std::vector<std::string>& blobs, std::string* why) {
  if (key.size() != kKeySize || blobs.size() > kMaxBlobs) return fail(why, "bad key or blobs");
  std::string out(kMagic);
  out += key;
  put_u64(out, blobs.size());
  for (const auto& b : blobs) {
    put_u64(out, b.size());
    out += b;
  }
  out += sha256_raw(out);
  try {
    storage::ensure_private_dir(dir);
    storage::write_private_file(db_cache_file(dir, key), out);
  } catch (const std::exception& e) {
    return fail(why, e.what());
  }
  prune_db_cache(dir, key);
  return true;
}

std::size_t prune_db_cache(const std::filesystem::path& dir, std::string_view keep,
                           std::chrono::seconds max_age) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  if (ec) return 0;
  const std::string kept =
      keep.size() == kKeySize ? db_cache_file(dir, keep).filename().string() : std::string();
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  std::size_t removed = 0;
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (!is_cache_file_name(name) || name == kept) continue;
    // The entry itself (lstat; unlink removes a link, never what it points
    // to), and only a file or a link: a directory of that name stays.
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
      continue;
    if (now - std::chrono::seconds(st.st_mtim.tv_sec) < max_age) continue;
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  return removed;
}

std::optional<std::string> serialize_database(const hs_database_t* db) {
  char* bytes = nullptr;
  std::size_t len = 0;
  if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) return std::nullopt;
  std::unique_ptr<char, decltype(&std::free)> owned(bytes, &std::free);
  return std::string(bytes, len);
}

hs_database_t* deserialize_database(std::string_view bytes) {
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(bytes.data(), bytes.size(), &db) != HS_SUCCESS) return nullptr;
  return db;
}

}  // namespace bastion::pii
