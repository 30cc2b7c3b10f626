// LegacyTasks: tasks of Bastion's own (io.modelcontextprotocol/tasks,
// SEP-2663) around a Legacy (2025-11-25) server's tools/call, for Modern
// clients. 2025-11-25 has no tasks extension, so a Legacy server can only
// answer a call when it ends; a Modern client that declared the extension may
// instead get a task handle at once and follow the call with tasks/get (SEP-
// 2663: the server decides per request whether to make a task; the gateway is
// that server). Which tools become tasks is the operator's choice, per server
// (`tasks:` in the configuration): the Legacy wire says nothing about how long
// a tool runs.
//
// The Legacy call runs in a coroutine of its own, detached from the client's
// request. Its server-to-client requests (elicitation, sampling, roots)
// become the task's input requests (status input_required, keys of Bastion's:
// "bastion-1", "bastion-2", ... unique over the task's life) and the
// client's tasks/update answers them. tasks/cancel, the task's ttl and
// shutdown cancel the call, which sends notifications/cancelled upstream; the
// task settles to "cancelled" (unless the server's answer came first). A
// server that never answers is bounded by the server's `timeouts.call`: the
// task fails with the timeout.
//
// Tasks live in a bounded TaskTable (server/tasks.hpp), bound to the caller
// that created them; the id the client sees is sealed by the gateway
// (task_relay.hpp, TaskHandle::gateway_owned), so a forged id never reaches
// the table and another caller's id does not open.
//
// Thread-safe. Create with std::make_shared.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/upstream.hpp"
#include "protocol/jsonrpc.hpp"
#include "server/context.hpp"
#include "server/tasks.hpp"

namespace bastion::gateway {

// Bounds of the gateway's own tasks (smaller than a local backend's: each
// running one holds a call to a server).
inline server::TaskLimits default_legacy_task_limits() {
  server::TaskLimits l;
  l.max_per_caller = 32;
  l.max_total = 512;
  return l;
}

class LegacyTasks : public std::enable_shared_from_this<LegacyTasks> {
 public:
  LegacyTasks(boost::asio::any_io_executor ex,
              server::TaskLimits limits = default_legacy_task_limits());
  ~LegacyTasks();

  // Starts `params` (a tools/call of `tool`, named as the server knows it)
  // at `u` as a task of the caller: its CreateTaskResult, whose taskId is
  // the table's (the gateway seals it before the client sees it), or -31000
  // when the caller or everyone is at the bound. `keep` lives as long as the
  // call: the gateway keeps a per-session instance running through it.
  protocol::Outcome start(std::shared_ptr<Upstream> u, const std::string& tool,
                          boost::json::object params, server::RequestContext& ctx,
                          std::shared_ptr<void> keep = nullptr);
  // tasks/get, tasks/update or tasks/cancel of `owner` for the table's id
  // `id`; nullopt when it is not one of the owner's tasks (any more).
  std::optional<protocol::Outcome> handle(const std::string& owner, std::string_view method,
                                          const std::string& id, const boost::json::object& params);
  // Cancels every running task's call.
  void shutdown();
  // Tasks held (running or finished, until their ttl).
  std::size_t size() const { return table_.size(); }
  const server::TaskLimits& limits() const { return table_.limits(); }

 private:
  class Worker;
  boost::asio::any_io_executor ex_;
  server::TaskTable table_;
};

}  // namespace bastion::gateway
