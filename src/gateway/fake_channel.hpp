// For tests: a scripted MCP server living in the test process, behind a
// Channel, and a ChannelFactory that makes one per start. Upstream and
// GatewayBackend run on it exactly as on a real server (McpClient speaks
// JSON-RPC to it), so lazy start, restarts, idle shutdown, caps, reload,
// routing and namespacing get unit tests without a process.
//
// The server answers initialize, ping and the list methods from its script;
// tools/call goes to the script's handler, which answers at once or later
// (reply()), and may first send notifications and requests of its own
// (send(), ask()). crash() ends the channel as a dying process would.
//
// Thread-safety: send() (Bastion's side) and the server's methods may be
// called from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/channel.hpp"
#include "gateway/channel_factory.hpp"
#include "gateway/upstream.hpp"
#include "protocol/jsonrpc.hpp"
#include "server/builtin_tool.hpp"
#include "server/mailbox.hpp"

namespace bastion::gateway::testing {

class FakeServer;

struct FakeScript {
  boost::json::object capabilities = boost::json::object{{"tools", boost::json::object{}}};
  std::vector<boost::json::object> tools, prompts, resources, templates;
  // tools/call (and resources/read, prompts/get): the result or error to send
  // back now, or nullopt to answer later with FakeServer::reply(id, ...).
  std::function<std::optional<protocol::Outcome>(FakeServer&, const boost::json::value& id,
                                                 const std::string& method,
                                                 const boost::json::object& params)>
      on_call;
};

inline boost::json::object fake_tool(std::string_view name, std::string_view description = "") {
  boost::json::object t{{"name", name}, {"inputSchema", boost::json::object{{"type", "object"}}}};
  if (!description.empty()) t["description"] = description;
  return t;
}

using server::text_result;  // a CallToolResult with one text item

class FakeChannel;
class FakeFactory;

class FakeServer : public std::enable_shared_from_this<FakeServer> {
 public:
  explicit FakeServer(FakeScript script) : script_(std::move(script)) {}

  // A message to Bastion, as if on the response stream of our request
  // `related` (Streamable HTTP) or with no relation (stdio).
  void send(boost::json::object msg, std::optional<std::int64_t> related = std::nullopt);
  void notify(std::string_view method, boost::json::object params,
              std::optional<std::int64_t> related = std::nullopt) {
    send(protocol::make_notification(method, std::move(params)), related);
  }
  // A server-to-client request; `on_reply` gets Bastion's response message.
  void ask(std::string id, std::string_view method, boost::json::object params,
           std::function<void(const boost::json::object&)> on_reply,
           std::optional<std::int64_t> related = std::nullopt) {
    {
      std::lock_guard lk(mu_);
      asks_[id] = std::move(on_reply);
    }
    send(protocol::make_request(boost::json::value(id), method, std::move(params)), related);
  }
  // Answers a call the handler left open.
  void reply(const boost::json::value& id, const protocol::Outcome& o) {
    send(protocol::make_response(id, o));
  }
  // Ends the channel as a crashing process would.
  void crash(std::string reason = "the fake server crashed");
  bool closed() const;

  // What Bastion sent: every message, and the initialize params.
  std::vector<boost::json::object> received() const {
    std::lock_guard lk(mu_);
    return received_;
  }
  boost::json::object initialize_params() const {
    std::lock_guard lk(mu_);
    return init_params_;
  }
  std::size_t calls_seen() const {
    std::lock_guard lk(mu_);
    return calls_;
  }
  // Whether Bastion sent a message with `method` (a notification or request).
  bool heard(std::string_view method) const {
    std::lock_guard lk(mu_);
    for (const auto& m : received_)
      if (auto* v = m.if_contains("method"); v && v->is_string() && v->as_string() == method)
        return true;
    return false;
  }

  // Bastion's side (FakeChannel::send).
  void handle(boost::json::object msg);

 private:
  friend class FakeChannel;
  friend class FakeFactory;
  FakeScript script_;
  mutable std::mutex mu_;
  std::weak_ptr<FakeChannel> channel_;
  std::vector<boost::json::object> received_;
  boost::json::object init_params_;
  std::size_t calls_ = 0;
  std::map<std::string, std::function<void(const boost::json::object&)>> asks_;
};

class FakeChannel : public Channel, public std::enable_shared_from_this<FakeChannel> {
 public:
  FakeChannel(boost::asio::any_io_executor ex, std::shared_ptr<FakeServer> server)
      : server_(std::move(server)),
        inbox_(std::make_shared<server::BasicMailbox<Inbound>>(ex, 100000)) {}

  bool send(boost::json::object msg) override {
    {
      std::lock_guard lk(mu_);
      if (closed_) return false;
    }
    server_->handle(std::move(msg));
    return true;
  }
  boost::asio::awaitable<std::optional<Inbound>> receive() override { return inbox_->pop(); }
  void close() override { end("closed by bastion"); }
  std::string close_reason() const override {
    std::lock_guard lk(mu_);
    return reason_;
  }

  void push(boost::json::object msg, std::optional<std::int64_t> related) {
    inbox_->push(Inbound{std::move(msg), related});
  }
  void end(std::string reason) {
    {
      std::lock_guard lk(mu_);
      if (closed_) return;
      closed_ = true;
      reason_ = std::move(reason);
    }
    inbox_->close();
  }
  bool closed() const {
    std::lock_guard lk(mu_);
    return closed_;
  }

 private:
  std::shared_ptr<FakeServer> server_;
  std::shared_ptr<server::BasicMailbox<Inbound>> inbox_;
  mutable std::mutex mu_;
  bool closed_ = false;
  std::string reason_;
};

inline void FakeServer::send(boost::json::object msg, std::optional<std::int64_t> related) {
  std::shared_ptr<FakeChannel> ch;
  {
    std::lock_guard lk(mu_);
    ch = channel_.lock();
  }
  if (ch) ch->push(std::move(msg), related);
}

inline void FakeServer::crash(std::string reason) {
  std::shared_ptr<FakeChannel> ch;
  {
    std::lock_guard lk(mu_);
    ch = channel_.lock();
  }
  if (ch) ch->end(std::move(reason));
}

inline bool FakeServer::closed() const {
  std::shared_ptr<FakeChannel> ch;
  {
    std::lock_guard lk(mu_);
    ch = channel_.lock();
  }
  return !ch || ch->closed();
}

inline void FakeServer::handle(boost::json::object msg) {
  namespace json = boost::json;
  auto* m = msg.if_contains("method");
  json::value id = msg.contains("id") ? msg.at("id") : json::value();
  json::object params;
  if (auto* p = msg.if_contains("params"); p && p->is_object()) params = p->get_object();
  std::function<void(const json::object&)> answered;
  {
    std::lock_guard lk(mu_);
    received_.push_back(msg);
    if (!m && id.is_string())
      if (auto it = asks_.find(std::string(id.get_string())); it != asks_.end()) {
        answered = std::move(it->second);
        asks_.erase(it);
      }
  }
  if (answered) {
    answered(msg);
    return;
  }
  if (!m || !m->is_string() || id.is_null()) return;  // notifications, stray responses
  std::string method(m->get_string());
  auto list = [&](std::string_view key, const std::vector<json::object>& items) {
    json::array a;
    for (auto& i : items) a.push_back(i);
    reply(id, json::object{{key, std::move(a)}});
  };
  if (method == "initialize") {
    {
      std::lock_guard lk(mu_);
      init_params_ = params;
    }
    reply(id, json::object{{"protocolVersion", "2025-06-18"},
                           {"capabilities", script_.capabilities},
                           {"serverInfo", json::object{{"name", "fake"}, {"version", "1"}}}});
  } else if (method == "ping") {
    reply(id, json::object{});
  } else if (method == "server/discover") {
    // A Legacy server: the gateway's era probe falls back to initialize.
    reply(id, protocol::method_not_found(method));
  } else if (method == "tools/list") {
    list("tools", script_.tools);
  } else if (method == "prompts/list") {
    list("prompts", script_.prompts);
  } else if (method == "resources/list") {
    list("resources", script_.resources);
  } else if (method == "resources/templates/list") {
    list("resourceTemplates", script_.templates);
  } else if (script_.on_call) {
    {
      std::lock_guard lk(mu_);
      ++calls_;
    }
    if (auto o = script_.on_call(*this, id, method, params)) reply(id, *o);
  } else {
    reply(id, protocol::method_not_found(method));
  }
}

// Makes a FakeServer per start, from a script per server name; counts starts
// and keeps every server made, newest last.
class FakeFactory {
 public:
  void script(const std::string& server, FakeScript s) {
    std::lock_guard lk(mu_);
    scripts_[server] = std::move(s);
  }
  // The next starts of `server` fail with this reason ("" to stop failing).
  void fail_starts(const std::string& server, std::string reason) {
    std::lock_guard lk(mu_);
    failing_[server] = std::move(reason);
  }
  std::size_t starts(const std::string& server) const {
    std::lock_guard lk(mu_);
    auto it = made_.find(server);
    return it == made_.end() ? 0 : it->second.size();
  }
  std::shared_ptr<FakeServer> latest(const std::string& server) const {
    std::lock_guard lk(mu_);
    auto it = made_.find(server);
    return it == made_.end() || it->second.empty() ? nullptr : it->second.back();
  }
  std::vector<std::shared_ptr<FakeServer>> all(const std::string& server) const {
    std::lock_guard lk(mu_);
    auto it = made_.find(server);
    return it == made_.end() ? std::vector<std::shared_ptr<FakeServer>>{} : it->second;
  }
  // The environment the last start of `server` was given.
  std::map<std::string, std::string> env(const std::string& server) const {
    std::lock_guard lk(mu_);
    auto it = env_.find(server);
    return it == env_.end() ? std::map<std::string, std::string>{} : it->second;
  }

  ChannelFactory factory() {
    return [this](const ChannelRequest& req) -> ChannelResult {
      std::lock_guard lk(mu_);
      const std::string& name = req.options.name;
      env_[name] = req.env;
      if (auto f = failing_.find(name); f != failing_.end() && !f->second.empty())
        return ChannelError{f->second};
      auto server = std::make_shared<FakeServer>(scripts_[name]);
      auto channel = std::make_shared<FakeChannel>(req.executor, server);
      server->channel_ = channel;
      made_[name].push_back(server);
      return OpenedChannel{channel, {}};
    };
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, FakeScript> scripts_;
  std::map<std::string, std::string> failing_;
  std::map<std::string, std::vector<std::shared_ptr<FakeServer>>> made_;
  std::map<std::string, std::map<std::string, std::string>> env_;
};

// A Legacy server whose tool "two" asks an elicitation and a sampling at
// once (as Bastion's own engine sends a round) and answers with the reply it
// got to each, by its ask id ("e", "s"), once both are in; its tool "hold"
// never answers (a call that stays in flight).
inline FakeScript two_asks() {
  FakeScript s;
  s.tools = {fake_tool("two"), fake_tool("hold")};
  s.on_call = [](FakeServer& srv, const boost::json::value& id, const std::string&,
                 const boost::json::object& params) -> std::optional<protocol::Outcome> {
    if (params.at("name").as_string() == "hold") return std::nullopt;
    auto got = std::make_shared<boost::json::object>();
    auto on_reply = [&srv, id, got](std::string which) {
      return [&srv, id, got, which](const boost::json::object& reply) {
        (*got)[which] = reply;
        if (got->size() == 2) srv.reply(id, text_result(boost::json::serialize(*got)));
      };
    };
    srv.ask("e", "elicitation/create", boost::json::object{{"message", "name?"}}, on_reply("e"));
    srv.ask("s", "sampling/createMessage", boost::json::object{{"maxTokens", 5}}, on_reply("s"));
    return std::nullopt;
  };
  return s;
}

}  // namespace bastion::gateway::testing
