// Helpers shared by the auth tests: a private temp directory, a fake clock and
// the JOSE test vectors under tests/vectors/jose.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

#include "storage/temp_dir.hpp"

namespace bastion::auth::testing {

using storage::TempDir;

// The issuer and audience of the tokens the JWT and token-cache tests sign.
inline constexpr const char* kIss = "https://as.example";
inline constexpr const char* kAud = "https://as.example/mcp";

// A clock tests can move; copies share the same time.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> t =
      std::make_shared<std::atomic<std::int64_t>>(1'700'000'000);
  std::int64_t operator()() const { return *t; }
  void advance(std::int64_t s) { *t += s; }
};

// A JSON file under tests/vectors/jose (BASTION_VECTORS_DIR).
inline boost::json::value load_jose_vector(const std::string& rel) {
  std::ifstream in(std::string(BASTION_VECTORS_DIR) + "/jose/" + rel);
  EXPECT_TRUE(in) << rel;
  std::stringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str());
}

inline std::string unhex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return out;
}

inline std::string str(const boost::json::value& v) { return std::string(v.as_string()); }

// Files a RecordStore directory holds: records and used markers (0 when
// the directory does not exist).
inline std::size_t record_files(const std::filesystem::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    n += name.ends_with(".json") || name.ends_with(".used");
  }
  return n;
}

}  // namespace bastion::auth::testing
