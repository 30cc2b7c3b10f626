// BuiltinBackend: a Backend whose tools, resources, templates and prompts are
// C++ callbacks registered at start-up (the testkit and the seed's tools).
// Immutable after setup, so concurrent calls need no locking.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "server/backend.hpp"
#include "server/builtin_tool.hpp"
#include "server/tasks.hpp"

namespace bastion::server {

class BuiltinBackend : public Backend {
 public:
  using ToolHandler = std::function<boost::asio::awaitable<protocol::Outcome>(
      boost::json::object args, RequestContext&)>;
  // Returns a ReadResourceResult ({contents:[...]}) for `uri`; `vars` holds
  // template variables (empty for fixed resources).
  using ReadHandler = std::function<protocol::Outcome(
      std::string_view uri, const std::map<std::string, std::string>& vars)>;
  // Returns a GetPromptResult for the given arguments.
  using PromptHandler = std::function<protocol::Outcome(const boost::json::object& args)>;
  // Same, for prompts that need the request (multi round-trip input).
  using ContextPromptHandler =
      std::function<protocol::Outcome(const boost::json::object& args, RequestContext& ctx)>;
  // Returns completion values for (argument name, partial value).
  using CompleteHandler =
      std::function<std::vector<std::string>(std::string_view arg, std::string_view value)>;

  // Whether a tool may answer input_required (ask its client something):
  // a Legacy client's call of one keeps its params as sent for the retry
  // (Backend::may_ask_input); one that never asks costs no copy.
  enum class Asks { kMaybe, kNever };

  explicit BuiltinBackend(std::string name) : name_(std::move(name)) {}

  void add_tool(boost::json::object definition, ToolHandler h, Asks asks = Asks::kMaybe);
  void add_sync_tool(SyncTool t);
  void add_resource(boost::json::object definition, ReadHandler h);
  void add_template(boost::json::object definition, ReadHandler h, CompleteHandler c = {});
  void add_prompt(boost::json::object definition, PromptHandler h, CompleteHandler c = {});
  void add_context_prompt(boost::json::object definition, ContextPromptHandler h);
  // The tasks its tools create (server/tasks.hpp): set once, before serving;
  // the extension is advertised and tasks/* requests are answered from it.
  void set_tasks(std::shared_ptr<TaskTable> t) { tasks_ = std::move(t); }
  const std::shared_ptr<TaskTable>& tasks() const { return tasks_; }
  // Advertise resources.subscribe; subscriptions are tracked by sessions.
  void set_subscribable(bool v) { subscribable_ = v; }
  // Tell clients that a list changed (the testkit's triggers).
  void announce_list_changed(Kind kind) {
    if (listener_) listener_->list_changed(kind);
  }
  // Tell subscribed sessions that `uri` changed.
  void resource_changed(std::string_view uri) {
    if (listener_) listener_->resource_updated(Audience{name_, {}}, uri);
  }

  std::string_view name() const override { return name_; }
  boost::json::object capabilities() const override;
  boost::asio::awaitable<std::vector<Listed>> list(Kind kind, RequestContext& ctx) override;
  std::optional<Route> resolve(Kind kind, std::string_view key) const override;
  std::vector<protocol::ParamHeader> param_headers(const Route& route) const override;
  // Tools as added (Asks), prompts with a ContextPromptHandler; never a
  // resource or a handler without a RequestContext: it could not see the
  // answers of what it asked.
  bool may_ask_input(const Route& route, const RequestContext& ctx) const override;
  bool may_ask(Kind kind, std::string_view name) const;
  boost::asio::awaitable<protocol::Outcome> call(const Route& route, std::string_view method,
                                                 boost::json::object params,
                                                 RequestContext& ctx) override;
  boost::asio::awaitable<std::optional<TaskReply>> task_request(std::string_view method,
                                                                const boost::json::object& params,
                                                                RequestContext& ctx) override;

 private:
  struct Template {
    boost::json::object definition;
    std::string pattern;
    ReadHandler read;
    CompleteHandler complete;
  };
  struct Prompt {
    boost::json::object definition;
    PromptHandler get;
    CompleteHandler complete;
    ContextPromptHandler get_with_context;
  };
  const Template* match_template(std::string_view uri,
                                 std::map<std::string, std::string>* vars) const;
  protocol::Outcome complete(const boost::json::object& params) const;

  std::string name_;
  bool subscribable_ = false;
  std::shared_ptr<TaskTable> tasks_;
  struct Tool {
    ToolHandler call;
    std::size_t def;  // its definition in tool_defs_
    // Its x-mcp-header annotations (protocol::param_headers()).
    std::vector<protocol::ParamHeader> param_headers;
    Asks asks = Asks::kMaybe;
  };
  std::vector<boost::json::object> tool_defs_;
  std::map<std::string, Tool, std::less<>> tools_;
  std::vector<boost::json::object> resource_defs_;
  std::map<std::string, ReadHandler, std::less<>> resources_;
  std::vector<Template> templates_;
  std::vector<boost::json::object> prompt_defs_;
  std::map<std::string, Prompt, std::less<>> prompts_;
};

}  // namespace bastion::server
