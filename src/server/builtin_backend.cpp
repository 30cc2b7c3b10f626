#include "server/builtin_backend.hpp"

#include <algorithm>
#include <cassert>

#include "protocol/arguments.hpp"
#include "protocol/uri_template.hpp"

namespace bastion::server {

namespace asio = boost::asio;
namespace json = boost::json;
using protocol::Outcome;

namespace {
std::string string_field(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_string()) return std::string(v->get_string());
  return {};
}
}  // namespace

void BuiltinBackend::add_tool(json::object definition, ToolHandler h, Asks asks) {
  std::string name = string_field(definition, "name");
  if (!definition.contains("inputSchema"))
    definition["inputSchema"] = json::object{{"type", "object"}};
  // Our own definitions: invalid annotations are a bug, not input.
  protocol::ParamHeaders annotated = protocol::param_headers(definition.at("inputSchema"));
  assert(!annotated.problem);
  // A name added again replaces its definition, handler and annotations.
  if (auto it = tools_.find(name); it != tools_.end()) {
    tool_defs_[it->second.def] = std::move(definition);
    it->second.call = std::move(h);
    it->second.param_headers = std::move(annotated.headers);
    it->second.asks = asks;
    return;
  }
  tool_defs_.push_back(std::move(definition));
  tools_.emplace(std::move(name),
                 Tool{std::move(h), tool_defs_.size() - 1, std::move(annotated.headers), asks});
}

void BuiltinBackend::add_sync_tool(SyncTool t) {
  auto call = std::move(t.call);
  add_tool(
      std::move(t.definition),
      [call](json::object args, RequestContext& ctx) -> asio::awaitable<Outcome> {
        co_return call(args, ctx.caller());
      },
      Asks::kNever);
}

void BuiltinBackend::add_resource(json::object definition, ReadHandler h) {
  std::string uri = string_field(definition, "uri");
  resource_defs_.push_back(std::move(definition));
  resources_[uri] = std::move(h);
}

void BuiltinBackend::add_template(json::object definition, ReadHandler h, CompleteHandler c) {
  std::string pattern = string_field(definition, "uriTemplate");
  templates_.push_back({std::move(definition), std::move(pattern), std::move(h), std::move(c)});
}

void BuiltinBackend::add_prompt(json::object definition, PromptHandler h, CompleteHandler c) {
  std::string name = string_field(definition, "name");
  prompt_defs_.push_back(definition);
  prompts_[name] = Prompt{std::move(definition), std::move(h), std::move(c)};
}

void BuiltinBackend::add_context_prompt(json::object definition, ContextPromptHandler h) {
  std::string name = string_field(definition, "name");
  prompt_defs_.push_back(definition);
  prompts_[name] = Prompt{std::move(definition), {}, {}, std::move(h)};
}

json::object BuiltinBackend::capabilities() const {
  json::object caps;
  if (!tool_defs_.empty()) caps["tools"] = json::object{{"listChanged", true}};
  if (!resource_defs_.empty() || !templates_.empty()) {
    json::object r{{"listChanged", true}};
    if (subscribable_) r["subscribe"] = true;
    caps["resources"] = std::move(r);
  }
  if (!prompt_defs_.empty()) caps["prompts"] = json::object{{"listChanged", true}};
  bool completes = false;
  for (auto& t : templates_) completes |= bool(t.complete);
  for (auto& [n, p] : prompts_) completes |= bool(p.complete);
  if (completes) caps["completions"] = json::object{};
  return caps;
}

asio::awaitable<std::vector<Listed>> BuiltinBackend::list(Kind kind, RequestContext&) {
  std::vector<Listed> out;
  auto add = [&](const json::object& item, std::string_view key_field) {
    std::string key = string_field(item, key_field);
    out.push_back(Listed{item, name_, std::move(key)});
  };
  switch (kind) {
    case Kind::kTool:
      for (auto& t : tool_defs_) add(t, "name");
      break;
    case Kind::kResource:
      for (auto& r : resource_defs_) add(r, "uri");
      break;
    case Kind::kPrompt:
      for (auto& p : prompt_defs_) add(p, "name");
      break;
    case Kind::kResourceTemplate:
      for (auto& t : templates_) add(t.definition, "uriTemplate");
      break;
  }
  co_return out;
}

const BuiltinBackend::Template* BuiltinBackend::match_template(
    std::string_view uri, std::map<std::string, std::string>* vars) const {
  for (auto& t : templates_)
    if (protocol::match_uri_template(t.pattern, uri, vars)) return &t;
  return nullptr;
}

std::vector<protocol::ParamHeader> BuiltinBackend::param_headers(const Route& route) const {
  if (route.kind != Kind::kTool) return {};
  auto it = tools_.find(route.name);
  return it == tools_.end() ? std::vector<protocol::ParamHeader>{} : it->second.param_headers;
}

std::optional<Route> BuiltinBackend::resolve(Kind kind, std::string_view key) const {
  bool mine = false;
  switch (kind) {
    case Kind::kTool:
      mine = tools_.find(key) != tools_.end();
      break;
    case Kind::kPrompt:
      mine = prompts_.find(key) != prompts_.end();
      break;
    case Kind::kResource:
    case Kind::kResourceTemplate:
      mine = resources_.find(key) != resources_.end() ||
             std::any_of(templates_.begin(), templates_.end(),
                         [&](const Template& t) { return t.pattern == key; }) ||
             match_template(key, nullptr) != nullptr;
      break;
  }
  if (!mine) return std::nullopt;
  Route r;
  r.kind = kind;
  r.key = std::string(key);
  r.server = name_;
  r.name = r.key;
  return r;
}

Outcome BuiltinBackend::complete(const json::object& params) const {
  const auto& ref = params.at("ref").get_object();
  const auto& arg = params.at("argument").get_object();
  std::string arg_name = string_field(arg, "name");
  std::string value = string_field(arg, "value");
  CompleteHandler handler;
  if (string_field(ref, "type") == "ref/prompt") {
    auto it = prompts_.find(string_field(ref, "name"));
    if (it != prompts_.end()) handler = it->second.complete;
  } else {
    std::string uri = string_field(ref, "uri");
    for (auto& t : templates_)
      if (t.pattern == uri || protocol::match_uri_template(t.pattern, uri, nullptr))
        handler = t.complete;
  }
  std::vector<std::string> values;
  if (handler) values = handler(arg_name, value);
  constexpr std::size_t kMax = 100;  // spec: at most 100 values per response
  json::array arr;
  for (std::size_t i = 0; i < values.size() && i < kMax; ++i)
    arr.push_back(json::string(values[i]));
  json::object completion{
      {"values", std::move(arr)}, {"total", values.size()}, {"hasMore", values.size() > kMax}};
  return json::object{{"completion", std::move(completion)}};
}

bool BuiltinBackend::may_ask_input(const Route& route, const RequestContext&) const {
  return may_ask(route.kind, route.name);
}

bool BuiltinBackend::may_ask(Kind kind, std::string_view name) const {
  if (kind == Kind::kTool) {
    auto it = tools_.find(name);
    return it != tools_.end() && it->second.asks == Asks::kMaybe;
  }
  if (kind == Kind::kPrompt) {
    auto it = prompts_.find(name);
    return it != prompts_.end() && bool(it->second.get_with_context);
  }
  return false;
}

asio::awaitable<Outcome> BuiltinBackend::call(const Route& route, std::string_view method,
                                              json::object params, RequestContext& ctx) {
  if (method == "tools/call") {
    const std::string& name = route.name;
    auto it = tools_.find(name);
    if (it == tools_.end()) co_return protocol::invalid_params("Unknown tool: " + name);
    json::object args;
    if (auto* a = params.if_contains("arguments"); a && a->is_object())
      args = std::move(a->get_object());
    // Its own definition, found by the name's entry: a scan of every
    // definition's name was 41 member lookups a call on the testkit.
    if (auto* s = tool_defs_[it->second.def].if_contains("inputSchema"); s && s->is_object()) {
      std::string err = protocol::check_arguments(s->get_object(), args);
      // Input validation failures are tool execution errors (SEP-1303),
      // so the model can see and correct them.
      if (!err.empty()) co_return text_result("Invalid arguments: " + err, true);
    }
    co_return co_await it->second.call(std::move(args), ctx);
  }
  if (method == "resources/read") {
    const std::string& uri = route.name;
    if (auto it = resources_.find(uri); it != resources_.end()) co_return it->second(uri, {});
    std::map<std::string, std::string> vars;
    if (auto* t = match_template(uri, &vars)) co_return t->read(uri, vars);
    co_return protocol::RpcError{protocol::kResourceNotFound, "Resource not found",
                                 json::object{{"uri", uri}}};
  }
  if (method == "resources/subscribe" || method == "resources/unsubscribe") {
    if (!subscribable_) co_return protocol::method_not_found(method);
    co_return json::object{};
  }
  if (method == "prompts/get") {
    const std::string& name = route.name;
    auto it = prompts_.find(name);
    if (it == prompts_.end()) co_return protocol::invalid_params("Unknown prompt: " + name);
    json::object args;
    if (auto* a = params.if_contains("arguments"); a && a->is_object()) args = a->get_object();
    if (auto* pargs = it->second.definition.if_contains("arguments"); pargs && pargs->is_array())
      for (auto& pa : pargs->get_array()) {
        if (!pa.is_object()) continue;
        auto* req = pa.get_object().if_contains("required");
        std::string an = string_field(pa.get_object(), "name");
        if (req && req->is_bool() && req->get_bool() && !args.contains(an))
          co_return protocol::invalid_params("Missing required argument: " + an);
      }
    if (it->second.get_with_context) co_return it->second.get_with_context(args, ctx);
    co_return it->second.get(args);
  }
  if (method == "completion/complete") co_return complete(params);
  (void)ctx;
  co_return protocol::method_not_found(method);
}

asio::awaitable<std::optional<TaskReply>> BuiltinBackend::task_request(std::string_view method,
                                                                      const json::object& params,
                                                                      RequestContext& ctx) {
  if (!tasks_) co_return std::nullopt;
  const std::string owner = task_owner(ctx.caller());
  std::shared_ptr<Task> t;
  if (auto* id = params.if_contains("taskId"); id && id->is_string())
    t = tasks_->find(owner, id->get_string());
  if (!t) co_return std::nullopt;
  std::optional<Outcome> out = tasks_->handle(owner, method, params);
  if (!out) co_return std::nullopt;
  co_return TaskReply{std::move(*out), name_, t->tool()};
}

}  // namespace bastion::server
