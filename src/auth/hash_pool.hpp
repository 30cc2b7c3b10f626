// Where password hashing runs: a few threads of their own at a lower CPU
// priority (nice +10), with a bounded number of jobs waiting and at most a
// couple per source, so failed logins (argon2id, 64 MiB and tens of ms each)
// can neither starve the I/O threads that serve MCP traffic nor grow memory
// without bound: at most `threads` hashes run at once, the rest are refused
// at the door (the endpoint answers 503 or 429 with Retry-After).
//
// With threads == 0 submit() runs the job on the caller's thread (tests,
// command-line tools).
//
// Thread-safety: all members may be called concurrently.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace bastion::auth {

struct HashPoolOptions {
  std::size_t threads = 1;     // 0: inline
  std::size_t queue = 16;      // jobs admitted at once (running + waiting)
  std::size_t per_source = 2;  // of which from one source
  int nice = 10;               // added to the hashing threads' nice value
};

class HashPool {
 public:
  explicit HashPool(HashPoolOptions options);
  // Waits for the admitted jobs.
  ~HashPool();
  HashPool(const HashPool&) = delete;
  HashPool& operator=(const HashPool&) = delete;

  enum class Admit { kAdmitted, kFull, kSourceBusy };
  // Runs `job` on a hashing thread (inline with 0 threads), unless the pool
  // or `source_key`'s share of it is full; the job is then not run.
  Admit submit(const std::string& source_key, std::function<void()> job);

  std::size_t pending() const { return pending_.load(); }
  const HashPoolOptions& options() const { return options_; }

 private:
  void done(const std::string& source_key);

  const HashPoolOptions options_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
  std::atomic<std::size_t> pending_{0};
  std::mutex mu_;
  std::unordered_map<std::string, std::size_t> per_source_;
};

}  // namespace bastion::auth
