#include "audit/merkle.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "protocol/base64.hpp"

namespace bastion::audit::merkle {

using protocol::base64_decode;
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kDir = fs::path(BASTION_VECTORS_DIR) / "merkle" / "testdata";

json::object load(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str()).as_object();
}

std::string b64(const json::value& v) {
  if (v.is_null()) return {};
  return base64_decode(v.as_string()).value();
}

std::vector<std::string> proof(const json::value& v) {
  std::vector<std::string> out;
  if (v.is_array())
    for (const auto& p : v.as_array()) out.push_back(b64(p));
  return out;
}

std::vector<fs::path> vectors(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().extension() == ".json") out.push_back(e.path());
  return out;
}

// The RFC 6962 reference leaves used by the test data (certificate-transparency).
const std::vector<std::string> kLeaves = {
    std::string(),
    std::string("\x00", 1),
    "\x10",
    "\x20\x21",
    "\x30\x31",
    "\x40\x41\x42\x43",
    "\x50\x51\x52\x53\x54\x55\x56\x57",
    "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
};

TEST(Merkle, CompactRangeRootsMatchTheReferenceTree) {
  EXPECT_EQ(to_hex(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CompactRange r;
  std::vector<std::string> roots;
  for (const auto& l : kLeaves) {
    r.append(leaf_hash(l));
    roots.push_back(to_hex(r.root()));
  }
  EXPECT_EQ(roots[0], "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(roots[7], "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  // Restoring the saved range continues the same tree.
  CompactRange part;
  for (int i = 0; i < 5; ++i) part.append(leaf_hash(kLeaves[i]));
  auto back = CompactRange::restore(part.size(), part.hashes());
  ASSERT_TRUE(back);
  for (int i = 5; i < 8; ++i) back->append(leaf_hash(kLeaves[i]));
  EXPECT_EQ(to_hex(back->root()), roots[7]);
  EXPECT_FALSE(CompactRange::restore(5, {}));
}

// The records' `prev` and every hash the log writes: lowercase hex of each
// byte value, appended after what `out` holds.
TEST(Merkle, HexOfEveryByteValue) {
  for (int first = 0; first < 256; first += 32) {
    Hash h;
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<unsigned char>(first + i);
    const std::string raw(reinterpret_cast<const char*>(h.data()), h.size());
    std::string out = "prev:";
    append_hex(out, h);
    EXPECT_EQ(out, "prev:" + protocol::hex_encode(raw));
    EXPECT_EQ(to_hex(h), protocol::hex_encode(raw));
    EXPECT_EQ(from_hex(to_hex(h)), h);
  }
}

TEST(Merkle, InclusionVectors) {
  auto files = vectors(kDir / "inclusion");
  ASSERT_GT(files.size(), 90u);
  int ok = 0;
  for (const auto& f : files) {
    auto v = load(f);
    bool got = verify_inclusion(v.at("leafIdx").to_number<std::uint64_t>(),
                                v.at("treeSize").to_number<std::uint64_t>(), b64(v.at("leafHash")),
                                proof(v.at("proof")), b64(v.at("root")));
    EXPECT_EQ(got, !v.at("wantErr").as_bool()) << f << ": " << v.at("desc").as_string();
    ok += got;
  }
  EXPECT_GT(ok, 5);
}

TEST(Merkle, ConsistencyVectors) {
  auto files = vectors(kDir / "consistency");
  ASSERT_GT(files.size(), 90u);
  int ok = 0;
  for (const auto& f : files) {
    auto v = load(f);
    bool got = verify_consistency(v.at("size1").to_number<std::uint64_t>(),
                                  v.at("size2").to_number<std::uint64_t>(), proof(v.at("proof")),
                                  b64(v.at("root1")), b64(v.at("root2")));
    EXPECT_EQ(got, !v.at("wantErr").as_bool()) << f << ": " << v.at("desc").as_string();
    ok += got;
  }
  EXPECT_GT(ok, 5);
}

}  // namespace
}  // namespace bastion::audit::merkle
