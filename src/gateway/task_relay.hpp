// Tasks (io.modelcontextprotocol/tasks, SEP-2663) across the gateway. An
// upstream's CreateTaskResult reaches the client with a task id of Bastion's
// own: the upstream's id, its server and tool, sealed (XSalsa20-Poly1305,
// protocol/sealed_state.hpp) and bound to the caller that created the task.
// tasks/get, tasks/update and tasks/cancel open it to find the upstream that
// owns the task and its id there. The gateway keeps no table, so a flood of
// tasks costs it nothing (each upstream bounds its own), and any replica
// sharing the data directory's key can serve the next poll.
//
// What this defends: a made-up, altered or truncated id does not open; an
// id another caller (another OAuth2 client or subject) received does not open
// for this one; an upstream cannot point a client at another server's task
// (the server is inside the seal, not taken from the upstream), and what it
// answers about a task other than the one asked is refused. Anonymous callers
// all share one identity (as for requestState): without auth a task id is a
// bearer handle, unguessable (spec: "task IDs as bearer tokens").
//
// Pure functions and an immutable sealer: thread-safe.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/jsonrpc.hpp"
#include "protocol/principal.hpp"
#include "protocol/sealed_state.hpp"

namespace bastion::gateway {

// Where a relayed task really lives.
struct TaskHandle {
  std::string server;       // configured server name
  std::string tool;         // the tool at that server
  std::string upstream_id;  // the task id the upstream issued (gateway-owned: Bastion's own)
  // A task of Bastion's own around a Legacy server's call (legacy_tasks.hpp);
  // sealed with the rest, so no upstream id can pose as one.
  bool gateway_owned = false;
};

// The longest upstream task id relayed (a longer one is refused).
inline constexpr std::size_t kMaxUpstreamTaskId = 1024;

class TaskIds {
 public:
  explicit TaskIds(std::shared_ptr<const protocol::StateSealer> sealer)
      : sealer_(std::move(sealer)) {}
  // The id the client sees.
  std::string wrap(const TaskHandle& h, const protocol::Principal& caller) const;
  // The handle behind a client's id, when it is one this gateway issued to
  // this caller and it has not expired (the sealer's ttl); nullopt otherwise,
  // with the reason for logs in `why`.
  std::optional<TaskHandle> unwrap(std::string_view id, const protocol::Principal& caller,
                                   std::string* why = nullptr) const;

 private:
  std::shared_ptr<const protocol::StateSealer> sealer_;
};

// An upstream's CreateTaskResult as the client gets it: its taskId replaced
// by `client_id`, the fields a CreateTaskResult must not carry (result,
// error, inputRequests, requestState) removed. An error when the upstream's
// answer is not a CreateTaskResult with a usable task id.
protocol::Outcome relay_created(boost::json::object result, const std::string& client_id);
// The upstream task id of a CreateTaskResult (empty, or over
// kMaxUpstreamTaskId: none usable).
std::string upstream_task_id(const boost::json::object& result);

// An upstream's tasks/get answer for the task `h` as the client gets it: an
// error when it describes another task or has no valid status; its taskId
// replaced by `client_id`.
protocol::Outcome relay_task_get(boost::json::object result, const TaskHandle& h,
                                 const std::string& client_id);

}  // namespace bastion::gateway
