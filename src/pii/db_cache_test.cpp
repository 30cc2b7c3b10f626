// The compiled-database cache: a real cache directory, real Vectorscan
// databases, and the files an attacker or a crash would leave there.
#include "pii/db_cache.hpp"

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
