// Worker event loops for connections: N io_contexts, each run by one thread
// of its own (Envoy's workers, userver's task processors). A connection
// placed on a worker is served by that thread alone for its whole life, so
// its handlers need no strand and a request's coroutines never wake another
// thread; the workers share nothing but what the engine already shares
// between connections (sessions, the audit log, metrics).
//
// The first worker is the process's main loop (App::io_), which also keeps
// the acceptor, the timers, the signals and the upstreams, and which its
// owner runs on one thread: with `threads: 1` everything runs on that one
// thread, as before the workers, and a gateway call of a connection there
// reaches its upstream without crossing threads. Whatever holds a worker's
// executor must not outlive the IoWorkers: App declares it right after io_,
// so it is destroyed after the engine and everything the engine holds, and
// destroys every loop's queued handlers first (IoLoop), since io_'s queue
// can hold a worker's objects too.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace bastion::transport {

// An io_context whose queued handlers can be destroyed before the context
// itself. Two contexts whose queues hold each other's I/O objects (a
// gateway call waiting on the main loop holds its outbox, whose timer is a
// worker's) must both drop their handlers before either is destroyed:
// execution_context::shutdown(), which the destructor would call anyway.
class IoLoop : public boost::asio::io_context {
 public:
  using io_context::io_context;
  // Not while a thread runs the loop. Idempotent.
  void destroy_handlers() { shutdown(); }
};

class IoWorkers {
 public:
  // n >= 1 loops: `main` (run by its owner, on one thread) and n - 1 more;
  // no thread runs until start().
  IoWorkers(IoLoop& main, std::size_t n);
  ~IoWorkers();
  IoWorkers(const IoWorkers&) = delete;
  IoWorkers& operator=(const IoWorkers&) = delete;

  // One thread for each loop but `main`; each runs until stop().
  void start();
  // Stops those loops and joins their threads (`main` is its owner's to
  // stop). What is still queued stays queued (as after io_context::stop) and
  // is destroyed with the loops. Idempotent; not from a worker thread.
  void stop();

  // After stop(): the queued handlers of every loop but `main` destroyed.
  void destroy_handlers();

  // The loop for the next connection, in turn.
  boost::asio::any_io_executor next();
  std::size_t size() const { return all_.size(); }

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<IoLoop>> loops_;  // all but `main`
  std::vector<IoLoop*> all_;                    // `main` first
  std::vector<Guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> turn_{0};
};

}  // namespace bastion::transport
