// Helpers shared by the auth tests: a private temp directory and a fake clock.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace bastion::auth::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bastion-auth-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A clock tests can move; copies share the same time.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> t =
      std::make_shared<std::atomic<std::int64_t>>(1'700'000'000);
  std::int64_t operator()() const { return *t; }
  void advance(std::int64_t s) { *t += s; }
};

}  // namespace bastion::auth::testing
