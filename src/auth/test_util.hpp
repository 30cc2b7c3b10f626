// Helpers shared by the auth tests: a private temp directory and a fake clock.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "storage/temp_dir.hpp"

namespace bastion::auth::testing {

using storage::TempDir;

// A clock tests can move; copies share the same time.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> t =
      std::make_shared<std::atomic<std::int64_t>>(1'700'000'000);
  std::int64_t operator()() const { return *t; }
  void advance(std::int64_t s) { *t += s; }
};

}  // namespace bastion::auth::testing
