#include "auth/hash_pool.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>

namespace bastion::auth {

HashPool::HashPool(HashPoolOptions options) : options_(options) {
  if (options_.threads > 0) pool_ = std::make_unique<boost::asio::thread_pool>(options_.threads);
}

HashPool::~HashPool() {
  if (pool_) pool_->join();
}

void HashPool::done(const std::string& source_key) {
  std::lock_guard lock(mu_);
  if (auto it = per_source_.find(source_key); it != per_source_.end() && --it->second == 0)
    per_source_.erase(it);
  --pending_;
}

HashPool::Admit HashPool::submit(const std::string& source_key, std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (pending_.load() >= options_.queue) return Admit::kFull;
    auto& n = per_source_[source_key];
    if (n >= options_.per_source) {
      if (n == 0) per_source_.erase(source_key);
      return Admit::kSourceBusy;
    }
    ++n;
    ++pending_;
  }
  if (!pool_) {
    job();
    done(source_key);
    return Admit::kAdmitted;
  }
  boost::asio::post(*pool_, [this, source_key, job = std::move(job), nice = options_.nice] {
    // Once per thread: below the I/O threads, so a flood of failed logins
    // yields the CPU to MCP traffic. (Linux: nice applies per thread.)
    thread_local bool lowered = false;
    if (!lowered && nice > 0) {
      lowered = true;
      auto tid = static_cast<id_t>(::syscall(SYS_gettid));
      errno = 0;
      int current = ::getpriority(PRIO_PROCESS, tid);
      if (errno != 0 || ::setpriority(PRIO_PROCESS, tid, std::min(19, current + nice)) != 0)
        spdlog::debug("auth: could not lower the hashing thread's priority");
    }
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("auth: hashing job failed: {}", e.what());
    }
    done(source_key);
  });
  return Admit::kAdmitted;
}

}  // namespace bastion::auth
