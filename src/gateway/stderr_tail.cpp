#include "gateway/stderr_tail.hpp"

#include <deque>
#include <map>
#include <mutex>

namespace bastion::gateway {

namespace {

struct Tails {
  std::mutex mu;
  std::map<std::string, std::deque<std::string>, std::less<>> by_server;
};

Tails& tails() {
  static Tails* t = new Tails;  // never destroyed: pumps may run during exit
  return *t;
}

}  // namespace

void record_stderr(std::string_view server, std::string_view line) {
  auto& t = tails();
  std::lock_guard lk(t.mu);
  auto it = t.by_server.find(server);
  if (it == t.by_server.end()) {
    if (t.by_server.size() >= 1024) return;  // names come from the configuration; bounded anyway
    it = t.by_server.emplace(std::string(server), std::deque<std::string>{}).first;
  }
  it->second.emplace_back(line.substr(0, kStderrLineBytes));
  while (it->second.size() > kStderrLines) it->second.pop_front();
}

std::vector<std::string> stderr_tail(std::string_view server) {
  auto& t = tails();
  std::lock_guard lk(t.mu);
  auto it = t.by_server.find(server);
  if (it == t.by_server.end()) return {};
  return {it->second.begin(), it->second.end()};
}

}  // namespace bastion::gateway
