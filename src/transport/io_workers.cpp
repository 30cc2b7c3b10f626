#include "transport/io_workers.hpp"

#include <stdexcept>

#include "server/mailbox.hpp"

namespace bastion::transport {

namespace asio = boost::asio;

IoWorkers::IoWorkers(IoLoop& main, std::size_t n) {
  if (n == 0) throw std::invalid_argument("IoWorkers: at least one loop");
  // Its owner runs `main` on one thread too: mailboxes on it need no strand.
  asio::use_service<server::OneThreadLoop>(main);
  all_.push_back(&main);
  for (std::size_t i = 1; i < n; ++i) {
    // Concurrency hint 1: one thread runs each loop (Asio then wakes no other
    // thread for its handlers); posts from other threads stay safe.
    loops_.push_back(std::make_unique<IoLoop>(1));
    asio::make_service<server::OneThreadLoop>(*loops_.back());
    guards_.push_back(asio::make_work_guard(*loops_.back()));
    all_.push_back(loops_.back().get());
  }
}

IoWorkers::~IoWorkers() { stop(); }

void IoWorkers::start() {
  if (!threads_.empty()) return;
  for (auto& loop : loops_) threads_.emplace_back([l = loop.get()] { l->run(); });
}

void IoWorkers::stop() {
  for (auto& g : guards_) g.reset();
  for (auto& loop : loops_) loop->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void IoWorkers::destroy_handlers() {
  stop();
  for (auto& loop : loops_) loop->destroy_handlers();
}

asio::any_io_executor IoWorkers::next() {
  return all_[turn_.fetch_add(1, std::memory_order_relaxed) % all_.size()]->get_executor();
}

}  // namespace bastion::transport
