// EraBridge: the gateway's translation between the two eras of MCP for the
// calls that may need the client's input (tools/call, prompts/get,
// resources/read).
//
// Modern client -> Legacy upstream: a Legacy server asks for input with a
// server-to-client request (sampling/createMessage, elicitation/create,
// roots/list) in the middle of a call; a Modern client can only be asked by
// an InputRequiredResult. The bridge keeps the upstream call running, answers
// the client with `input_required` (the upstream's request, and those it
// sends within `gather` of it, each under a key of Bastion's) and files the
// waiting call in a PendingTable under an unguessable id. The id travels in
// the requestState, which the engine seals to the caller, the request and
// its arguments; the client's retry opens it, takes the call out of the
// table (once: a replay finds nothing), hands each answer to the upstream
// request of its key (only the keys of that round count) and waits for the
// next requests or the result. A call not
// resumed within `limits.ttl` is ended (the upstream's request gets an error
// and the call is cancelled upstream).
//
// Legacy client -> Modern upstream: the upstream's InputRequiredResult goes
// back to the engine, which asks the Legacy client (server-to-client
// requests, only for capabilities it declared) and calls again with the
// answers; the bridge puts them and the upstream's requestState on the
// retried upstream request. Modern -> Modern passes the upstream's state
// through, sealed inside Bastion's own.
//
// Known limit: the waiting call lives in this process, so a Modern client's
// retry of a bridged call must reach the same replica (a stateless retry of a
// Modern->Modern call does not). The sealed state names the process (a random
// tag), so a retry that reaches another replica is refused at once with an
// error saying so, without touching that replica's table.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "gateway/pending_table.hpp"
#include "gateway/upstream.hpp"
#include "protocol/jsonrpc.hpp"
#include "server/context.hpp"

namespace bastion::gateway {

struct EraBridgeOptions {
  PendingLimits limits;         // waiting calls: caps and how long each waits
  std::size_t max_rounds = 32;  // input requests one bridged call may make
  // After a Legacy server's input request, how long to wait for more of the
  // same call to hand over with it in one InputRequiredResult (each further
  // one restarts the wait); 0: one request per round.
  std::chrono::milliseconds gather{10};
};

// Thread-safe. Create with std::make_shared.
class EraBridge : public std::enable_shared_from_this<EraBridge> {
 public:
  EraBridge(boost::asio::any_io_executor ex, EraBridgeOptions opts = {});
  ~EraBridge();

  // Relays `method` to `u` in the eras of both sides (see above). `keep`
  // lives as long as a bridged call that waits for its client: the gateway
  // keeps a per-session instance running through it (gateway.hpp).
  boost::asio::awaitable<protocol::Outcome> call(std::shared_ptr<Upstream> u,
                                                 std::string_view method,
                                                 boost::json::object params,
                                                 server::RequestContext& ctx,
                                                 std::shared_ptr<void> keep = nullptr);
  // The instance where the waiting call that `ctx`'s requestState resumes
  // runs, left waiting; else the error the retry gets (its call expired,
  // was taken, is another client's or another process's).
  protocol::Expected<std::shared_ptr<Upstream>, protocol::RpcError> waiting_at(
      std::string_view method, const server::RequestContext& ctx) const;
  // Calls waiting for a client's input now.
  std::size_t pending() const { return table_.size(); }
  // Ends every waiting call (their upstream requests get an error).
  void shutdown();

 private:
  class Exchange;
  // A Modern server's answer as the engine expects it (its state wrapped,
  // what the relay setting forbids refused, Modern-only fields removed).
  static void from_modern(const Upstream& u, protocol::Outcome& out);
  // A Legacy server's result: one of a type only 2026-07-28 has
  // (input_required, task) is refused (an internal error).
  static void from_legacy(const Upstream& u, protocol::Outcome& out);
  boost::asio::awaitable<protocol::Outcome> bridged(std::shared_ptr<Upstream> u, std::string method,
                                                    boost::json::object params,
                                                    server::RequestContext& ctx,
                                                    std::shared_ptr<void> keep);
  // The table id a retry's requestState names, or the retry's error.
  protocol::Expected<std::string, protocol::RpcError> waiting_id(const boost::json::value& state,
                                                                 std::string_view method) const;
  // Waits for the call's next input request or its result.
  boost::asio::awaitable<protocol::Outcome> step(std::shared_ptr<Exchange> x);
  void start_sweeper();
  static boost::asio::awaitable<void> sweep(std::weak_ptr<EraBridge> weak);

  boost::asio::any_io_executor ex_;
  EraBridgeOptions opts_;
  const std::string process_;  // random tag of this process's table, sealed in every state
  PendingTable<std::shared_ptr<Exchange>> table_;
  std::mutex sweep_mu_;
  bool sweeping_ = false;
  bool shut_ = false;
  std::shared_ptr<boost::asio::steady_timer> sweep_timer_;
};

}  // namespace bastion::gateway
