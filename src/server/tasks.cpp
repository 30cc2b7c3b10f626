#include "server/tasks.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <boost/algorithm/hex.hpp>
#include <iterator>
#include <utility>

#include "protocol/era.hpp"
#include "protocol/iso8601.hpp"

namespace bastion::server {

namespace json = boost::json;
using protocol::Outcome;
using protocol::RpcError;

bool declares_tasks(const json::object& caps) {
  auto* ext = caps.if_contains("extensions");
  if (!ext || !ext->is_object()) return false;
  auto* t = ext->get_object().if_contains(kTasksExtension);
  return t && t->is_object();
}

RpcError tasks_extension_required() {
  json::object ext;
  ext[kTasksExtension] = json::object{};
  return protocol::missing_client_capability(json::object{{"extensions", std::move(ext)}});
}

bool is_task_method(std::string_view m) {
  return m == "tasks/get" || m == "tasks/update" || m == "tasks/cancel";
}

std::string task_owner(const protocol::Principal& p) { return p.client_id + "\n" + p.subject; }

RpcError task_not_found() {
  return protocol::invalid_params("Failed to retrieve task: Task not found");
}

std::string_view to_string(TaskStatus s) {
  switch (s) {
    case TaskStatus::kWorking:
      return "working";
    case TaskStatus::kInputRequired:
      return "input_required";
    case TaskStatus::kCompleted:
      return "completed";
    case TaskStatus::kFailed:
      return "failed";
    case TaskStatus::kCancelled:
      return "cancelled";
  }
  return "working";
}

bool is_terminal(TaskStatus s) {
  return s == TaskStatus::kCompleted || s == TaskStatus::kFailed || s == TaskStatus::kCancelled;
}

Task::Task(std::string id, std::string owner, std::string tool, std::chrono::milliseconds ttl,
           std::chrono::milliseconds poll_interval, std::size_t max_input_requests)
    : id_(std::move(id)),
      owner_(std::move(owner)),
      tool_(std::move(tool)),
      created_(std::chrono::system_clock::now()),
      ttl_(ttl),
      poll_interval_(poll_interval),
      max_input_requests_(max_input_requests),
      updated_(created_) {}

TaskStatus Task::status() const {
  std::lock_guard lk(mu_);
  return status_;
}

json::object Task::base_locked() const {
  json::object t{{"taskId", id_},
                 {"status", to_string(status_)},
                 {"createdAt", protocol::iso8601_utc_ms(created_)},
                 {"lastUpdatedAt", protocol::iso8601_utc_ms(updated_)},
                 {"ttlMs", static_cast<std::int64_t>(ttl_.count())},
                 {"pollIntervalMs", static_cast<std::int64_t>(poll_interval_.count())}};
  if (!message_.empty()) t["statusMessage"] = message_;
  return t;
}

json::object Task::create_result() const {
  std::lock_guard lk(mu_);
  json::object r = base_locked();
  r["resultType"] = "task";
  return r;
}

json::object Task::detailed() const {
  std::lock_guard lk(mu_);
  json::object t = base_locked();
  switch (status_) {
    case TaskStatus::kInputRequired: {
      json::object reqs;
      for (const auto& [k, r] : outstanding_) reqs[k] = r;
      t["inputRequests"] = std::move(reqs);
      break;
    }
    case TaskStatus::kCompleted:
      t["result"] = result_;
      break;
    case TaskStatus::kFailed:
      if (error_) t["error"] = error_->to_json();
      break;
    default:
      break;
  }
  return t;
}

bool Task::ask(const std::string& key, json::object request) {
  std::lock_guard lk(mu_);
  if (is_terminal(status_) || used_keys_.count(key) || outstanding_.size() >= max_input_requests_)
    return false;
  used_keys_.insert(key);
  outstanding_.emplace(key, std::move(request));
  status_ = TaskStatus::kInputRequired;
  updated_ = std::chrono::system_clock::now();
  return true;
}

std::optional<json::object> Task::take_answer(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = answers_.find(key);
  if (it == answers_.end()) return std::nullopt;
  json::object a = std::move(it->second);
  answers_.erase(it);
  return a;
}

bool Task::set_message(std::string message) {
  std::lock_guard lk(mu_);
  if (is_terminal(status_)) return false;
  message_ = std::move(message);
  updated_ = std::chrono::system_clock::now();
  return true;
}

bool Task::finish_locked(TaskStatus s) {
  if (is_terminal(status_)) return false;
  status_ = s;
  outstanding_.clear();
  answers_.clear();
  updated_ = std::chrono::system_clock::now();
  return true;
}

bool Task::complete(json::object result) {
  std::lock_guard lk(mu_);
  if (!finish_locked(TaskStatus::kCompleted)) return false;
  result_ = std::move(result);
  return true;
}

bool Task::fail(RpcError error) {
  std::lock_guard lk(mu_);
  if (!finish_locked(TaskStatus::kFailed)) return false;
  message_ = error.message;
  error_ = std::move(error);
  return true;
}

bool Task::cancel(std::string message) {
  std::lock_guard lk(mu_);
  if (!finish_locked(TaskStatus::kCancelled)) return false;
  message_ = std::move(message);
  return true;
}

void Task::answer(const json::object& responses) {
  std::lock_guard lk(mu_);
  if (is_terminal(status_)) return;
  bool changed = false;
  for (const auto& [k, v] : responses) {
    auto it = outstanding_.find(std::string(k));
    if (it == outstanding_.end() || !v.is_object()) continue;
    outstanding_.erase(it);
    answers_[std::string(k)] = v.get_object();
    changed = true;
  }
  if (!changed) return;
  if (outstanding_.empty()) status_ = TaskStatus::kWorking;
  updated_ = std::chrono::system_clock::now();
}

void Task::request_cancel() {
  std::function<void()> hook;
  {
    std::lock_guard lk(mu_);
    cancel_requested_ = true;
    hook = std::exchange(on_cancel_, nullptr);
  }
  if (hook) hook();
}

void Task::on_cancel(std::function<void()> hook) {
  {
    std::lock_guard lk(mu_);
    if (!cancel_requested_) {
      on_cancel_ = std::move(hook);
      return;
    }
  }
  if (hook) hook();
}

bool Task::cancel_requested() const {
  std::lock_guard lk(mu_);
  return cancel_requested_;
}

namespace {
std::string random_task_id() {
  unsigned char buf[16];
  RAND_bytes(buf, sizeof buf);
  std::string out;
  boost::algorithm::hex_lower(buf, buf + sizeof buf, std::back_inserter(out));
  return out;
}
}  // namespace

void TaskTable::purge_locked(std::chrono::system_clock::time_point now) {
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (!it->second->expired(now)) {
      ++it;
      continue;
    }
    // A task still running past its ttl is stopped and forgotten (spec: a
    // server may discard a task once its ttl has elapsed).
    it->second->request_cancel();
    if (auto o = per_owner_.find(it->second->owner()); o != per_owner_.end() && --o->second == 0)
      per_owner_.erase(o);
    it = tasks_.erase(it);
  }
}

bool TaskTable::evict_finished_locked(const std::string* owner) {
  auto oldest = tasks_.end();
  for (auto it = tasks_.begin(); it != tasks_.end(); ++it) {
    if ((owner && it->second->owner() != *owner) || !it->second->terminal()) continue;
    if (oldest == tasks_.end() || it->second->created_at() < oldest->second->created_at())
      oldest = it;
  }
  if (oldest == tasks_.end()) return false;
  if (auto o = per_owner_.find(oldest->second->owner()); o != per_owner_.end() && --o->second == 0)
    per_owner_.erase(o);
  tasks_.erase(oldest);
  return true;
}

protocol::Expected<std::shared_ptr<Task>, RpcError> TaskTable::create(
    const std::string& owner, std::string tool, std::chrono::system_clock::time_point now) {
  std::lock_guard lk(mu_);
  purge_locked(now);
  auto full = [&] {
    return RpcError{protocol::kResourceExhausted,
                    "Too many running tasks: wait for one to finish or cancel one"};
  };
  if (auto o = per_owner_.find(owner);
      o != per_owner_.end() && o->second >= limits_.max_per_caller &&
      !evict_finished_locked(&owner))
    return full();
  if (tasks_.size() >= limits_.max_total && !evict_finished_locked(nullptr)) return full();
  std::string id = random_task_id();
  auto t = std::make_shared<Task>(id, owner, std::move(tool), limits_.ttl, limits_.poll_interval,
                                  limits_.max_input_requests);
  tasks_.emplace(std::move(id), t);
  ++per_owner_[owner];
  return t;
}

std::shared_ptr<Task> TaskTable::find(const std::string& owner, std::string_view id,
                                      std::chrono::system_clock::time_point now) {
  std::lock_guard lk(mu_);
  purge_locked(now);
  auto it = tasks_.find(id);
  // Another caller's task is indistinguishable from one that does not exist.
  if (it == tasks_.end() || it->second->owner() != owner) return nullptr;
  return it->second;
}

std::optional<Outcome> TaskTable::handle(const std::string& owner, std::string_view method,
                                         const json::object& params) {
  auto* id = params.if_contains("taskId");
  if (!id || !id->is_string()) return std::nullopt;
  std::shared_ptr<Task> t = find(owner, id->get_string());
  if (!t) return std::nullopt;
  if (method == "tasks/get") return Outcome(t->detailed());
  if (method == "tasks/update") {
    auto* r = params.if_contains("inputResponses");
    if (!r || !r->is_object())
      return Outcome(protocol::invalid_params("Invalid params: inputResponses must be an object"));
    t->answer(r->get_object());
    return Outcome(json::object{});
  }
  if (method == "tasks/cancel") {
    // Acknowledged whatever the status (idempotent on a finished task).
    t->request_cancel();
    return Outcome(json::object{});
  }
  return std::nullopt;
}

void TaskTable::cancel_all() {
  std::lock_guard lk(mu_);
  for (auto& [id, t] : tasks_) t->request_cancel();
}

std::size_t TaskTable::size() const {
  std::lock_guard lk(mu_);
  return tasks_.size();
}

}  // namespace bastion::server
