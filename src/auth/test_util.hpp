// Helpers shared by the auth tests: a private temp directory, a fake clock and
// the JOSE test vectors under tests/vectors/jose.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

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

// A hostile document server on 127.0.0.1 (port 0): it accepts connections
// and answers nothing until release() (or its end) closes them, so a fetch
// from it waits until its own deadline, like one a server trickles out.
class SilentServer {
 public:
  SilentServer() : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] {
      for (;;) {
        boost::system::error_code ec;
        boost::asio::ip::tcp::socket s(ioc_);
        acceptor_.accept(s, ec);
        std::lock_guard lock(mu_);
        if (ec || stopping_) return;
        held_.push_back(std::move(s));
        ++accepted_;
        cv_.notify_all();
      }
    });
  }
  ~SilentServer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    boost::system::error_code ec;
    // Wake the blocked accept with one last connection.
    boost::asio::ip::tcp::socket wake(ioc_);
    wake.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
    release();
  }
  std::string url(std::string_view path) const {
    return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) +
           std::string(path);
  }
  // Waits until `n` connections were accepted in all, or `or_else(accepted)`
  // holds (checked every 10 ms), or 30 s have passed.
  void wait_accepted(std::size_t n, const std::function<bool(std::size_t)>& or_else = {}) {
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::unique_lock lock(mu_);
    while (accepted_ < n && !(or_else && or_else(accepted_)) &&
           std::chrono::steady_clock::now() < give_up)
      cv_.wait_for(lock, std::chrono::milliseconds(10));
  }
  std::size_t accepted() {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  // Closes every held connection (their fetches fail at once).
  void release() {
    std::lock_guard lock(mu_);
    for (auto& s : held_) {
      boost::system::error_code ec;
      s.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
      s.close(ec);
    }
    held_.clear();
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<boost::asio::ip::tcp::socket> held_;
  std::size_t accepted_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bastion::auth::testing
