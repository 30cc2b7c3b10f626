// The testkit's fixtures for the tasks extension (SEP-2663; the conformance
// suite's `tasks-*` scenarios call them by name): tools that may, or must,
// run as a task when the request declares io.modelcontextprotocol/tasks.
// Each task's work runs in a coroutine of its own, detached from the request
// that created it; it checks for cancellation (tasks/cancel, expiry) every
// tick, so a cancelled task settles to "cancelled" within one.
#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/tasks.hpp"
#include "tools/fixture_json.hpp"
#include "tools/testkit.hpp"

namespace bastion::tools {

namespace asio = boost::asio;
namespace json = boost::json;
using fixture::input_required;
using fixture::pause;
using fixture::prop;
using fixture::str_arg;
using fixture::text_result;
using fixture::tool;
using protocol::Outcome;
using server::RequestContext;
using server::Task;
using server::TaskTable;

namespace {

constexpr std::chrono::milliseconds kTick{25};
// The longest a slow_compute may sleep (the suite asks for up to 60 s).
constexpr double kMaxSeconds = 600;

// The tasks fixtures ask in form mode and read only an accepted answer
// ("" otherwise).
json::object form_elicit(std::string_view message, std::string_view field, std::string_view type) {
  return fixture::elicit(message, field, type, "form");
}

std::string accepted_field(const json::object& a, std::string_view field) {
  auto* act = a.if_contains("action");
  if (!act || !act->is_string() || act->get_string() != "accept") return "";
  return fixture::elicited(a, field);
}

// test_tool_with_task's first round.
json::object ask_user_name() {
  return input_required({{"user_name", form_elicit("What is your name?", "name", "string")}});
}

double seconds_arg(const json::object& args) {
  auto* v = args.if_contains("seconds");
  double s = 0;
  if (v && v->is_int64()) s = static_cast<double>(v->get_int64());
  if (v && v->is_uint64()) s = static_cast<double>(v->get_uint64());
  if (v && v->is_double()) s = v->get_double();
  return std::clamp(s, 0.0, kMaxSeconds);
}

// Waits `d` in ticks; false (and the task cancelled) when a cancellation
// came first.
asio::awaitable<bool> work_for(std::shared_ptr<Task> t, std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto until = std::chrono::steady_clock::now() + d;
  for (;;) {
    if (t->cancel_requested()) {
      t->cancel();
      co_return false;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= until) co_return true;
    timer.expires_after(std::min<std::chrono::steady_clock::duration>(kTick, until - now));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

// Waits for the client's answer to `key` (through tasks/update); nullopt
// (and the task cancelled) when a cancellation came first.
asio::awaitable<std::optional<json::object>> answer_to(std::shared_ptr<Task> t, std::string key) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    if (t->cancel_requested()) {
      t->cancel();
      co_return std::nullopt;
    }
    std::optional<json::object> a = t->take_answer(key);
    if (a) co_return a;
    timer.expires_after(kTick);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

// The works. Each ends the task in exactly one terminal status.
asio::awaitable<void> compute(std::shared_ptr<Task> t, std::chrono::milliseconds d,
                              json::object result) {
  const bool done = co_await work_for(t, d);
  if (done) t->complete(std::move(result));
}

asio::awaitable<void> protocol_failure(std::shared_ptr<Task> t) {
  const std::chrono::milliseconds d(200);
  const bool done = co_await work_for(t, d);
  if (done) t->fail(protocol::internal_error("protocol_error_job: the job's worker crashed"));
}

asio::awaitable<void> confirm(std::shared_ptr<Task> t, std::string filename) {
  // Named, not temporaries: GCC 12 destroys a temporary of a full-expression
  // that suspends twice (a double free).
  const std::string key = "confirm_delete";
  t->ask(key, form_elicit(fmt::format("Delete {}?", filename), "confirm", "boolean"));
  std::optional<json::object> a = co_await answer_to(t, key);
  if (!a) co_return;
  const bool yes = accepted_field(*a, "confirm") == "true";
  t->complete(text_result(yes ? fmt::format("Deleted {}", filename)
                              : fmt::format("Kept {}: not confirmed", filename)));
}

asio::awaitable<void> two_inputs(std::shared_ptr<Task> t) {
  const std::string k1 = "name", k2 = "confirm";
  t->ask(k1, form_elicit("What is your name?", "name", "string"));
  t->ask(k2, form_elicit("Shall I proceed?", "confirm", "boolean"));
  std::optional<json::object> name = co_await answer_to(t, k1);
  if (!name) co_return;
  std::optional<json::object> ok = co_await answer_to(t, k2);
  if (!ok) co_return;
  t->complete(
      text_result(fmt::format("multi_input done: name={}, confirm={}",
                              accepted_field(*name, "name"), accepted_field(*ok, "confirm"))));
}

// A new task of the caller for `tool`; its work is spawned by the caller
// (a coroutine called directly in co_spawn: GCC 12 mis-compiles coroutines
// created through std::function or lambdas that outlive the expression).
protocol::Expected<std::shared_ptr<Task>, protocol::RpcError> new_task(TaskTable& table,
                                                                       RequestContext& ctx,
                                                                       std::string tool) {
  return table.create(server::task_owner(ctx.caller()), std::move(tool));
}

bool wants_task(const RequestContext& ctx) {
  return ctx.modern() && server::declares_tasks(ctx.client_capabilities());
}

// A Modern client without the extension cannot have a task-only tool's
// result (-32021). A Legacy client has no tasks at all (2025-11-25 has no
// extension): it gets the same work done in the call, as a Legacy server
// would do it, so a gateway can offer it to Modern clients as a task of its
// own (gateway/legacy_tasks.hpp).
bool refuse_without_task(const RequestContext& ctx) { return ctx.modern() && !wants_task(ctx); }

// The answer under `key` of a Legacy round trip, if the client gave one.
const json::object* answered(const RequestContext& ctx, std::string_view key) {
  const json::object* answers = ctx.input_responses();
  const json::value* a = answers ? answers->if_contains(key) : nullptr;
  return a ? a->if_object() : nullptr;
}

}  // namespace

void add_task_fixtures(server::BuiltinBackend& b) {
  auto table = std::make_shared<TaskTable>();
  b.set_tasks(table);

  b.add_tool(tool("greet", "Sync only: says hello", json::object{{"name", prop("string", "Who")}}),
             [](json::object args, RequestContext&) -> asio::awaitable<Outcome> {
               co_return text_result(fmt::format("Hello, {}!", str_arg(args, "name", "World")));
             });

  // Optional task support: a task when the client declared the extension,
  // else the same work inline.
  b.add_tool(tool("slow_compute", "Task optional: sleeps `seconds`, then answers",
                  json::object{{"seconds", prop("number", "How long to work (max 600)")},
                               {"label", prop("string", "Echoed in the result")}}),
             [table](json::object args, RequestContext& ctx) -> asio::awaitable<Outcome> {
               const double s = seconds_arg(args);
               const std::string label = str_arg(args, "label", "");
               auto d = std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
               json::object result =
                   text_result(fmt::format("slow_compute {} done after {} s", label, s));
               if (wants_task(ctx)) {
                 auto t = new_task(*table, ctx, "slow_compute");
                 if (!t.ok()) co_return t.error();
                 std::shared_ptr<Task> task = t.value();
                 asio::any_io_executor ex = co_await asio::this_coro::executor;
                 asio::co_spawn(ex, compute(task, d, result), asio::detached);
                 co_return task->create_result();
               }
               asio::steady_timer timer(co_await asio::this_coro::executor, d);
               co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
               co_return result;
             });

  // Required task support: -32021 for a client without the extension.
  b.add_tool(tool("failing_job", "Task required: ends with a tool error", json::object{}),
             [table](json::object, RequestContext& ctx) -> asio::awaitable<Outcome> {
               if (refuse_without_task(ctx)) co_return server::tasks_extension_required();
               if (!wants_task(ctx)) {
                 co_await pause(std::chrono::milliseconds(500));
                 co_return text_result("failing_job: the job failed", true);
               }
               auto t = new_task(*table, ctx, "failing_job");
               if (!t.ok()) co_return t.error();
               std::shared_ptr<Task> task = t.value();
               json::object result = text_result("failing_job: the job failed", true);
               asio::any_io_executor ex = co_await asio::this_coro::executor;
               asio::co_spawn(ex, compute(task, std::chrono::milliseconds(500), result),
                              asio::detached);
               co_return task->create_result();
             });

  b.add_tool(
      tool("protocol_error_job", "Task required: fails with a JSON-RPC error", json::object{}),
      [table](json::object, RequestContext& ctx) -> asio::awaitable<Outcome> {
        if (refuse_without_task(ctx)) co_return server::tasks_extension_required();
        if (!wants_task(ctx)) {
          co_await pause(std::chrono::milliseconds(200));
          co_return protocol::internal_error("protocol_error_job: the job's worker crashed");
        }
        auto t = new_task(*table, ctx, "protocol_error_job");
        if (!t.ok()) co_return t.error();
        std::shared_ptr<Task> task = t.value();
        asio::any_io_executor ex = co_await asio::this_coro::executor;
        asio::co_spawn(ex, protocol_failure(task), asio::detached);
        co_return task->create_result();
      });

  b.add_tool(tool("confirm_delete", "Task required: asks for a confirmation, then answers",
                  json::object{{"filename", prop("string", "What to delete (nothing is)")}}),
             [table](json::object args, RequestContext& ctx) -> asio::awaitable<Outcome> {
               if (refuse_without_task(ctx)) co_return server::tasks_extension_required();
               std::string filename = str_arg(args, "filename", "file.txt");
               if (!wants_task(ctx)) {
                 // Legacy: the engine asks the client (elicitation/create).
                 const json::object* a = answered(ctx, "confirm_delete");
                 if (!a)
                   co_return input_required(json::object{
                       {"confirm_delete",
                        form_elicit(fmt::format("Delete {}?", filename), "confirm", "boolean")}});
                 co_return text_result(accepted_field(*a, "confirm") == "true"
                                           ? fmt::format("Deleted {}", filename)
                                           : fmt::format("Kept {}: not confirmed", filename));
               }
               auto t = new_task(*table, ctx, "confirm_delete");
               if (!t.ok()) co_return t.error();
               std::shared_ptr<Task> task = t.value();
               asio::any_io_executor ex = co_await asio::this_coro::executor;
               asio::co_spawn(ex, confirm(task, filename), asio::detached);
               co_return task->create_result();
             });

  b.add_tool(tool("multi_input", "Task required: asks two questions at once", json::object{}),
             [table](json::object, RequestContext& ctx) -> asio::awaitable<Outcome> {
               if (refuse_without_task(ctx)) co_return server::tasks_extension_required();
               if (!wants_task(ctx)) {
                 // Legacy: both questions go to the client at once.
                 const json::object* name = answered(ctx, "name");
                 const json::object* ok = answered(ctx, "confirm");
                 if (!name || !ok)
                   co_return input_required(json::object{
                       {"name", form_elicit("What is your name?", "name", "string")},
                       {"confirm", form_elicit("Shall I proceed?", "confirm", "boolean")}});
                 co_return text_result(fmt::format("multi_input done: name={}, confirm={}",
                                                   accepted_field(*name, "name"),
                                                   accepted_field(*ok, "confirm")));
               }
               auto t = new_task(*table, ctx, "multi_input");
               if (!t.ok()) co_return t.error();
               std::shared_ptr<Task> task = t.value();
               asio::any_io_executor ex = co_await asio::this_coro::executor;
               asio::co_spawn(ex, two_inputs(task), asio::detached);
               co_return task->create_result();
             });

  // Multi round-trip first (the name, synchronously), then a task (SEP-2663:
  // MRTR exchanges are resolved before the CreateTaskResult).
  b.add_tool(tool("test_tool_with_task", "MRTR then task: asks a name, greets it as a task",
                  json::object{}),
             [table](json::object, RequestContext& ctx) -> asio::awaitable<Outcome> {
               if (refuse_without_task(ctx)) co_return server::tasks_extension_required();
               const json::object* answers = ctx.input_responses();
               const json::value* a = answers ? answers->if_contains("user_name") : nullptr;
               if (!a || !a->is_object()) co_return ask_user_name();
               json::object result =
                   text_result(fmt::format("Hello, {}!", accepted_field(a->get_object(), "name")));
               if (!wants_task(ctx)) {
                 co_await pause(std::chrono::milliseconds(300));
                 co_return result;
               }
               auto t = new_task(*table, ctx, "test_tool_with_task");
               if (!t.ok()) co_return t.error();
               std::shared_ptr<Task> task = t.value();
               asio::any_io_executor ex = co_await asio::this_coro::executor;
               asio::co_spawn(ex, compute(task, std::chrono::milliseconds(300), result),
                              asio::detached);
               co_return task->create_result();
             });
}

}  // namespace bastion::tools
