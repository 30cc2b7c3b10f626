// The compiled-database cache: a real cache directory, real Vectorscan
// databases, and the files an attacker or a crash would leave there.
#include "pii/db_cache.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "pii/scanner.hpp"
#include "storage/temp_dir.hpp"

namespace bastion::pii {
namespace {

namespace fs = std::filesystem;

const std::string kText =
    "Kim 010-1234-5678, kim@example.com, card 4111 1111 1111 1111, ACME-123456, "
    "김철수님 900101-1234568";

std::vector<std::string> describe(const std::vector<Finding>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs)
    out.push_back(std::string(f.type) + "@" + std::to_string(f.begin) + "-" +
                  std::to_string(f.end));
  return out;
}

PatternSet with_acme() {
  PatternSet s = default_patterns();
  s.custom.push_back(translate_python_regex("acme_id", R"(ACME-\d{6})", "test"));
  return s;
}

std::vector<fs::path> cache_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".hsdb") out.push_back(e.path());
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const fs::path& p, std::string_view s) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(s.data(), std::streamsize(s.size()));
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
}

TEST(DbCache, SecondScannerLoadsWhatTheFirstCompiled) {
  storage::TempDir tmp;
  const fs::path dir = tmp.path() / "cache" / "pii";
  const PiiScanner fresh(default_patterns(), {}, dir);
  EXPECT_FALSE(fresh.database_from_cache());
  auto files = cache_files(dir);
  ASSERT_EQ(files.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(files[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);  // no temp file left beside it

  const PiiScanner cached(default_patterns(), {}, dir);
  EXPECT_TRUE(cached.database_from_cache());
  const PiiScanner uncached;
  EXPECT_EQ(describe(cached.scan(kText)), describe(uncached.scan(kText)));
  EXPECT_FALSE(cached.scan(kText).empty());
}

TEST(DbCache, GarbledFilesAreIgnoredAndReplaced) {
  storage::TempDir tmp;
  const fs::path dir = tmp.path() / "c";
  { const PiiScanner first(default_patterns(), {}, dir); }
  const fs::path file = cache_files(dir).at(0);
  const std::string good = slurp(file);
  const PiiScanner reference;
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x5A;
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  const std::string variants[] = {
      "",
      "garbage",
      good.substr(0, good.size() / 2),
      good.substr(0, 60),
      flipped,
      bad_magic,
      good + "trailing",
      std::string(good.size(), '\0'),
  };
  for (const auto& v : variants) {
    spit(file, v);
    const PiiScanner s(default_patterns(), {}, dir);
    EXPECT_FALSE(s.database_from_cache()) << v.size();
    EXPECT_EQ(describe(s.scan(kText)), describe(reference.scan(kText))) << v.size();
    // Rebuilt and rewritten: the next start loads it.
    EXPECT_EQ(slurp(file), good);
    EXPECT_TRUE(PiiScanner(default_patterns(), {}, dir).database_from_cache());
  }
}

TEST(DbCache, FilesOthersCouldWriteOrLinksAreIgnored) {
  storage::TempDir tmp;
  const fs::path dir = tmp.path() / "c";
  { const PiiScanner first(default_patterns(), {}, dir); }
  const fs::path file = cache_files(dir).at(0);
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_FALSE(PiiScanner(default_patterns(), {}, dir).database_from_cache());
  EXPECT_TRUE(PiiScanner(default_patterns(), {}, dir).database_from_cache());  // rewritten 0600
  // A symlink to a good copy elsewhere is not followed.
  const fs::path elsewhere = tmp.path() / "copy.hsdb";
  fs::copy_file(file, elsewhere);
  fs::remove(file);
  fs::create_symlink(elsewhere, file);
  EXPECT_FALSE(PiiScanner(default_patterns(), {}, dir).database_from_cache());
  // A directory open to others is not trusted at all.
  storage::TempDir tmp2;
  const fs::path open_dir = tmp2.path() / "open";
  { const PiiScanner first(default_patterns(), {}, open_dir); }
  fs::permissions(open_dir, fs::perms::all);
  EXPECT_FALSE(PiiScanner(default_patterns(), {}, open_dir).database_from_cache());
}

// Sets the modification time of the entry itself (a link: the link's).
void age(const fs::path& p, std::chrono::seconds by) {
  struct stat st {};
  ASSERT_EQ(::lstat(p.c_str(), &st), 0) << p;
  const timespec t{st.st_mtim.tv_sec - static_cast<time_t>(by.count()), 0};
  const timespec times[2] = {t, t};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << p;
}

// A pattern set of its own (the cache key covers the expressions).
PatternSet with_custom(const std::string& name) {
  PatternSet s = default_patterns();
  s.custom.push_back(translate_python_regex(name, name + R"(-\d{6})", "test"));
  return s;
}

TEST(DbCache, FilesOfPatternSetsNoLongerUsedAreRemovedWhenAnotherIsWritten) {
  storage::TempDir tmp;
  const fs::path dir = tmp.path() / "c";
  { const PiiScanner old_set(with_acme(), {}, dir); }
  const fs::path old_file = cache_files(dir).at(0);
  { const PiiScanner in_use(default_patterns(), {}, dir); }
  ASSERT_EQ(cache_files(dir).size(), 2u);
  const fs::path in_use = cache_files(dir)[0] == old_file ? cache_files(dir)[1] : cache_files(dir)[0];
  age(old_file, kDbCacheMaxAge + std::chrono::hours(1));
  age(in_use, kDbCacheMaxAge + std::chrono::hours(1));
  // A start that loads the in-use set renews its file...
  EXPECT_TRUE(PiiScanner(default_patterns(), {}, dir).database_from_cache());
  // ...so writing a third set removes only the set nobody used for 30 days.
  { const PiiScanner third(with_custom("third"), {}, dir); }
  EXPECT_FALSE(fs::exists(old_file));
  EXPECT_TRUE(fs::exists(in_use));
  EXPECT_EQ(cache_files(dir).size(), 2u);
  EXPECT_TRUE(PiiScanner(default_patterns(), {}, dir).database_from_cache());
  EXPECT_TRUE(PiiScanner(with_custom("third"), {}, dir).database_from_cache());
  // A file younger than the limit stays.
  { const PiiScanner fourth(with_custom("fourth"), {}, dir); }
  EXPECT_EQ(cache_files(dir).size(), 3u);
}

TEST(DbCache, PruningRemovesOnlyCacheEntriesNeverWhatALinkPointsTo) {
  storage::TempDir tmp;
  const fs::path dir = tmp.path() / "c";
  { const PiiScanner first(default_patterns(), {}, dir); }
  const fs::path fresh = cache_files(dir).at(0);
  const auto old = kDbCacheMaxAge + std::chrono::hours(1);
  const std::string hex64(64, 'a');
  // An old link named as a cache file, to a file outside the cache: the
  // link goes, the file it points to stays.
  const fs::path target = tmp.path() / "precious";
  spit(target, "keep me");
  age(target, old);
  const fs::path link = dir / ("pii-" + hex64 + ".hsdb");
  fs::create_symlink(target, link);
  age(link, old);
  // Entries that are not cache files stay, however old.
  const fs::path note = dir / "notes.txt", near = dir / ("pii-" + std::string(63, 'a') + ".hsdb"),
                 upper = dir / ("pii-" + std::string(64, 'A') + ".hsdb"),
                 subdir = dir / ("pii-" + std::string(64, 'b') + ".hsdb");
  for (const auto& p : {note, near, upper}) {
    spit(p, "x");
    age(p, old);
  }
  fs::create_directory(subdir);
  spit(subdir / "inside", "x");
  age(subdir, old);
  EXPECT_EQ(prune_db_cache(dir), 1u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(link)));
  EXPECT_EQ(slurp(target), "keep me");
  for (const auto& p : {note, near, upper, subdir}) EXPECT_TRUE(fs::exists(p)) << p;
  EXPECT_TRUE(fs::exists(subdir / "inside"));
  // The fresh cache file stays; a missing directory is no error.
  EXPECT_TRUE(PiiScanner(default_patterns(), {}, dir).database_from_cache()) << fresh;
  EXPECT_EQ(prune_db_cache(tmp.path() / "missing"), 0u);
}

TEST(DbCache, DatabaseOfAnotherPatternSetIsNotUsed) {
  storage::TempDir tmp;
  const fs::path a_dir = tmp.path() / "a", b_dir = tmp.path() / "b";
  { const PiiScanner a(with_acme(), {}, a_dir); }
  { const PiiScanner b(default_patterns(), {}, b_dir); }
  const fs::path a_file = cache_files(a_dir).at(0), b_file = cache_files(b_dir).at(0);
  EXPECT_NE(a_file.filename(), b_file.filename());
  const std::string a_bytes = slurp(a_file), b_bytes = slurp(b_file);

  // A's file under B's name: its key says it is another set's.
  spit(b_file, a_bytes);
  {
    const PiiScanner b(default_patterns(), {}, b_dir);
    EXPECT_FALSE(b.database_from_cache());
    for (const auto& f : b.scan(kText)) EXPECT_NE(f.type, "acme_id");
    EXPECT_EQ(slurp(b_file), b_bytes);
  }
  // And the other way: the custom pattern must be there.
  spit(a_file, b_bytes);
  {
    const PiiScanner a(with_acme(), {}, a_dir);
    EXPECT_FALSE(a.database_from_cache());
    bool acme = false;
    for (const auto& f : a.scan(kText)) acme |= f.type == "acme_id";
    EXPECT_TRUE(acme);
  }
}

TEST(DbCache, ResealedForeignDatabaseCannotCrashTheScan) {
  storage::TempDir tmp;
  const fs::path dir = tmp.path() / "c";
  // The key of a pattern set: found from the file name it is stored under.
  { const PiiScanner b(default_patterns(), {}, dir); }
  const fs::path b_file = cache_files(dir).at(0);
  const std::string stem = b_file.stem().string();  // pii-<hex key>
  std::string key;
  for (std::size_t i = 4; i + 1 < stem.size(); i += 2)
    key += static_cast<char>(std::stoi(stem.substr(i, 2), nullptr, 16));
  ASSERT_EQ(key.size(), 32u);
  // Databases of a larger set (more pattern ids), stored under B's key.
  PatternSet big = with_acme();
  for (int i = 0; i < 20; ++i)
    big.custom.push_back(
        translate_python_regex("x" + std::to_string(i), "[0-9]{" + std::to_string(i + 3) + "}",
                               "test"));
  const fs::path big_dir = tmp.path() / "big";
  { const PiiScanner s(big, {}, big_dir); }
  auto blobs = load_db_cache(big_dir, [&] {
    const std::string st = cache_files(big_dir).at(0).stem().string();
    std::string k;
    for (std::size_t i = 4; i + 1 < st.size(); i += 2)
      k += static_cast<char>(std::stoi(st.substr(i, 2), nullptr, 16));
    return k;
  }());
  ASSERT_TRUE(blobs.has_value());
  // With B's own pattern widths (the fourth blob), which load only when
  // there is one for each of B's patterns.
  auto b_blobs = load_db_cache(dir, key);
  ASSERT_TRUE(b_blobs.has_value());
  ASSERT_EQ(blobs->size(), 4u);
  (*blobs)[3] = b_blobs->at(3);
  ASSERT_TRUE(store_db_cache(dir, key, *blobs));
  // Only someone who can already write the 0700 directory can do that:
  // whatever the database reports, the scan stays within B's pattern table.
  const PiiScanner b(default_patterns(), {}, dir);
  EXPECT_TRUE(b.database_from_cache());
  for (const auto& f : b.scan(kText + " 12345678901234567890")) EXPECT_FALSE(f.type.empty());
}

// The patterns' fixed widths are cached beside the databases (the fourth
// blob, 4 bytes each): a start no longer parses every pattern again.
TEST(DbCache, WidthsAreCachedAndForgedOnesCannotReachOutsideTheText) {
  storage::TempDir tmp;
  const fs::path dir = tmp.path() / "c";
  { const PiiScanner first(default_patterns(), {}, dir); }
  const fs::path file = cache_files(dir).at(0);
  const std::string stem = file.stem().string();
  std::string key;
  for (std::size_t i = 4; i + 1 < stem.size(); i += 2)
    key += static_cast<char>(std::stoi(stem.substr(i, 2), nullptr, 16));
  auto blobs = load_db_cache(dir, key);
  ASSERT_TRUE(blobs.has_value());
  ASSERT_EQ(blobs->size(), 4u);
  const std::string widths = (*blobs)[3];
  ASSERT_FALSE(widths.empty());
  ASSERT_EQ(widths.size() % 4, 0u);
  const PiiScanner reference;
  const std::string text = kText + " AKIAIOSFODNN7EXAMPLE ghp_" + std::string(36, 'a');

  // Widths no pattern can have, or one too few: not loaded, compiled again.
  for (std::string bad : {widths.substr(4), std::string(widths.size(), '\x7f'),
                          std::string(widths.size(), '\xfe')}) {
    auto forged = *blobs;
    forged[3] = bad;
    ASSERT_TRUE(store_db_cache(dir, key, forged));
    const PiiScanner s(default_patterns(), {}, dir);
    EXPECT_FALSE(s.database_from_cache());
    EXPECT_EQ(describe(s.scan(text)), describe(reference.scan(text)));
  }
  // Plausible but wrong widths (each 1 MiB, longer than any match here):
  // loaded, and every finding still lies within the text.
  auto forged = *blobs;
  forged[3].clear();
  for (std::size_t i = 0; i < widths.size() / 4; ++i) forged[3] += std::string("\0\0\x10\0", 4);
  ASSERT_TRUE(store_db_cache(dir, key, forged));
  const PiiScanner s(default_patterns(), {}, dir);
  EXPECT_TRUE(s.database_from_cache());
  for (const auto& f : s.scan(text)) {
    EXPECT_LE(f.begin, f.end);
    EXPECT_LE(f.end, text.size());
  }
  // Plausible widths shorter than the text (100 bytes each) put a match's
  // start well before its anchor (inside the text): findings still lie
  // within the text.
  forged[3].clear();
  for (std::size_t i = 0; i < widths.size() / 4; ++i) forged[3] += std::string("\x64\0\0\0", 4);
  ASSERT_TRUE(store_db_cache(dir, key, forged));
  const PiiScanner hundred(default_patterns(), {}, dir);
  EXPECT_TRUE(hundred.database_from_cache());
  const std::string iban = std::string(300, ' ') + "DE89370400440532013000 and " + text;
  for (const auto& f : hundred.scan(iban)) {
    EXPECT_LE(f.begin, f.end);
    EXPECT_LE(f.end, iban.size());
  }
}

}  // namespace
}  // namespace bastion::pii
