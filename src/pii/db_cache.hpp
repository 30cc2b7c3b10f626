// On-disk cache of the scanner's compiled Vectorscan databases.
//
// Compiling the pattern database (hs_compile_multi) is most of what a short
// `bastion pii scan` costs, and it is paid again at every start. The scanner
// can keep the serialized databases (hs_serialize_database) in a private
// directory and load them on the next start instead of compiling; the
// patterns' fixed widths (each pattern parsed again by hs_expression_info:
// most of a start once the databases were cached) are kept beside them.
//
// A cache file is named by its key, a SHA-256 over everything the compiled
// databases depend on (the expressions, their flags and ids, the Vectorscan
// version and the platform it tunes for), and holds that key again, the
// serialized databases and a SHA-256 of its whole content. A file that is
// not exactly that (cut short, garbled, written for another pattern set and
// renamed, readable or writable by others, a symlink) is ignored: the
// scanner compiles and replaces it. Loading never trusts the file further
// than these checks; Vectorscan's own deserialization then checks its
// version, platform and bytecode checksum.
#pragma once

#include <hs/hs.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bastion::pii {

// SHA-256 of `data`, 32 raw bytes.
std::string sha256_raw(std::string_view data);

// The cache file for `key` (32 raw bytes) in `dir`.
std::filesystem::path db_cache_file(const std::filesystem::path& dir, std::string_view key);

// The blobs stored for `key`, or nullopt when there is no file or it fails a
// check (`why`, when given, says which). Never throws.
std::optional<std::vector<std::string>> load_db_cache(const std::filesystem::path& dir,
                                                      std::string_view key,
                                                      std::string* why = nullptr);

// Stores `blobs` for `key`: creates `dir` 0700 if missing, writes the file
// 0600 atomically (temp file, fsync, rename), then prunes the directory
// (prune_db_cache). Returns false (and `why`) when it cannot; never throws
// (a cache that cannot be written only costs time). A successful load
// renews its file's modification time: the time is when a process last
// used the file.
bool store_db_cache(const std::filesystem::path& dir, std::string_view key,
                    const std::vector<std::string>& blobs, std::string* why = nullptr);

// Files no process loaded or wrote for this long are of pattern sets no
// longer in use (each configuration change of patterns leaves one).
inline constexpr std::chrono::seconds kDbCacheMaxAge{std::chrono::hours(24 * 30)};

// Removes the cache files in `dir` (entries named as db_cache_file names
// them: regular files, or links, never what they point to) not modified
// for `max_age`, except `keep`'s. Returns how many it removed; never throws.
std::size_t prune_db_cache(const std::filesystem::path& dir, std::string_view keep = {},
                           std::chrono::seconds max_age = kDbCacheMaxAge);

// A compiled database as the bytes a cache file keeps (hs_serialize_database),
// or nullopt when Vectorscan cannot serialize it.
std::optional<std::string> serialize_database(const hs_database_t* db);

// The database `bytes` hold, or nullptr when Vectorscan refuses them (its
// version, platform or checksum does not match). The caller frees it.
hs_database_t* deserialize_database(std::string_view bytes);

}  // namespace bastion::pii
