// The tasks extension (io.modelcontextprotocol/tasks, SEP-2663) on the
// server side: a tools/call may answer with a CreateTaskResult (a task
// handle) instead of its result, and the client follows the task with
// tasks/get, answers its input requests with tasks/update and asks to stop it
// with tasks/cancel. Only for Modern (2026-07-28) requests that declare the
// extension in their per-request client capabilities.
//
// TaskTable is the store a local backend (the testkit) keeps its tasks in.
// Task ids are 128 random bits, and every task is bound to the caller that
// created it: another caller naming the id gets "task not found", exactly as
// for an id that never existed. The table is bounded per caller and in total,
// and a task is forgotten once its ttl has passed, so a flood of tasks cannot
// exhaust memory: when a caller is at its bound, its oldest finished task
// makes room; when all of them still run, the new task is refused (-31000).
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "protocol/expected.hpp"
#include "protocol/jsonrpc.hpp"
#include "protocol/principal.hpp"

namespace bastion::server {

inline constexpr std::string_view kTasksExtension = "io.modelcontextprotocol/tasks";

// Whether client capabilities declare the tasks extension
// (capabilities.extensions["io.modelcontextprotocol/tasks"] is an object).
bool declares_tasks(const boost::json::object& client_capabilities);
// MissingRequiredClientCapability (-32021) naming the extension.
protocol::RpcError tasks_extension_required();
// tasks/get, tasks/update, tasks/cancel.
bool is_task_method(std::string_view method);
// The key tasks are bound to: one per OAuth2 client and subject (every
// anonymous caller shares one, as they share everything else).
std::string task_owner(const protocol::Principal& p);
// The -32602 a client gets for an unknown, foreign or expired task id.
protocol::RpcError task_not_found();

enum class TaskStatus { kWorking, kInputRequired, kCompleted, kFailed, kCancelled };
std::string_view to_string(TaskStatus s);
bool is_terminal(TaskStatus s);

struct TaskLimits {
  std::size_t max_per_caller = 64;  // tasks a caller holds (running or finished)
  std::size_t max_total = 4096;     // all callers together
  std::chrono::milliseconds ttl{std::chrono::minutes(10)};  // from creation
  std::chrono::milliseconds poll_interval{500};             // suggested to clients
  std::size_t max_input_requests = 16;  // outstanding input requests per task
};

// One task. Thread-safe: the worker and the client's requests touch it from
// different threads.
class Task {
 public:
  Task(std::string id, std::string owner, std::string tool, std::chrono::milliseconds ttl,
       std::chrono::milliseconds poll_interval, std::size_t max_input_requests);

  const std::string& id() const { return id_; }
  const std::string& owner() const { return owner_; }
  const std::string& tool() const { return tool_; }
  std::chrono::system_clock::time_point created_at() const { return created_; }
  bool expired(std::chrono::system_clock::time_point now) const { return now >= created_ + ttl_; }

  TaskStatus status() const;
  bool terminal() const { return is_terminal(status()); }
  // The CreateTaskResult (resultType "task", no result, error or input requests).
  boost::json::object create_result() const;
  // The DetailedTask tasks/get answers and notifications/tasks carry: the
  // status, and the result, error or outstanding input requests with it.
  boost::json::object detailed() const;

  // The worker's side. Each returns false when the task is terminal already
  // (a cancelled task stays cancelled; the first terminal status wins).
  // ask(): a new input request under `key` (unique over the task's life: a
  // key used before is refused), status input_required until all are answered.
  bool ask(const std::string& key, boost::json::object request);
  // The answer to `key`, once the client gave it (taken: asked once, answered once).
  std::optional<boost::json::object> take_answer(const std::string& key);
  bool set_message(std::string message);
  bool complete(boost::json::object result);
  bool fail(protocol::RpcError error);
  bool cancel(std::string message = "Cancelled by the client");

  // The client's side. Answers to keys that are not outstanding are ignored
  // (spec: never issued, already answered or superseded).
  void answer(const boost::json::object& responses);
  // Cooperative: the worker sees cancel_requested() and stops.
  void request_cancel();
  bool cancel_requested() const;
  // Called (outside the task's lock, at most once) when a cancellation is
  // requested, for a worker that waits on something else than a tick (the
  // gateway's call to a Legacy server). Set before the task is shared; if a
  // cancellation came first, it runs at once.
  void on_cancel(std::function<void()> hook);

 private:
  boost::json::object base_locked() const;
  bool finish_locked(TaskStatus s);

  const std::string id_, owner_, tool_;
  const std::chrono::system_clock::time_point created_;
  const std::chrono::milliseconds ttl_, poll_interval_;
  const std::size_t max_input_requests_;
  mutable std::mutex mu_;
  TaskStatus status_ = TaskStatus::kWorking;
  std::chrono::system_clock::time_point updated_;
  std::string message_;
  boost::json::object result_;
  std::optional<protocol::RpcError> error_;
  std::map<std::string, boost::json::object> outstanding_;  // key -> input request
  std::map<std::string, boost::json::object> answers_;      // key -> response, not taken yet
  std::set<std::string> used_keys_;
  bool cancel_requested_ = false;
  std::function<void()> on_cancel_;
};

// Thread-safe.
class TaskTable {
 public:
  explicit TaskTable(TaskLimits limits = {}) : limits_(limits) {}
  const TaskLimits& limits() const { return limits_; }

  // A new working task of `owner` for `tool`, stored before it is returned
  // (spec: durably created before the CreateTaskResult). -31000 when the
  // caller (or everyone) is at the bound with tasks that all still run.
  protocol::Expected<std::shared_ptr<Task>, protocol::RpcError> create(
      const std::string& owner, std::string tool,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
  // The task `id` if it exists, belongs to `owner` and has not expired.
  std::shared_ptr<Task> find(
      const std::string& owner, std::string_view id,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
  // tasks/get, tasks/update, tasks/cancel for `owner` (params as the client
  // sent them, taskId checked by the engine): the answer, or nullopt when
  // the id is not one of `owner`'s tasks here.
  std::optional<protocol::Outcome> handle(const std::string& owner, std::string_view method,
                                          const boost::json::object& params);
  // Asks every running task to stop (shutdown).
  void cancel_all();
  std::size_t size() const;

 private:
  // Forgets expired tasks (their workers are asked to stop). Under mu_.
  void purge_locked(std::chrono::system_clock::time_point now);
  // Drops the oldest finished task among `candidates`; false when none is finished.
  bool evict_finished_locked(const std::string* owner);

  const TaskLimits limits_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Task>, std::less<>> tasks_;  // by id
  std::map<std::string, std::size_t, std::less<>> per_owner_;
};

}  // namespace bastion::server
