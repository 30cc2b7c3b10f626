// For tests: an Engine with a GatewayBackend whose upstreams are scripted
// fake servers (fake_channel.hpp), and in-process client sessions that send
// requests and collect everything Bastion sends them. Drives the io_context
// on the test's thread.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/fake_channel.hpp"
#include "gateway/gateway.hpp"
#include "protocol/era.hpp"
#include "server/engine.hpp"
#include "server/outbox.hpp"
#include "server/session.hpp"

namespace bastion::gateway::testing {

namespace json = boost::json;
using namespace std::chrono_literals;

// A server entry with short timeouts, as a test wants them.
inline UpstreamOptions fake_server(std::string name, std::string prefix = "-") {
  UpstreamOptions o;
  o.name = name;
  o.prefix = prefix == "-" ? name : prefix;
  o.command = {"fake"};
  o.fingerprint = name;
  o.init_timeout = 2000ms;
  o.call_timeout = 5000ms;
  o.ping_interval = 0ms;
  o.restart_backoff = 100ms;
  o.restart_backoff_max = 400ms;
  return o;
}

struct FakeClient {
  std::shared_ptr<server::Session> session;
  std::shared_ptr<server::Outbox> out;         // responses and request-related messages
  std::shared_ptr<server::Outbox> standalone;  // messages tied to no request
  std::vector<json::object> seen;              // everything received on `out`, in order
  std::vector<json::object> seen_standalone;
};

class GatewayHarness {
 public:
  // `go`: the gateway's options besides max_processes, the fakes and the audit.
  explicit GatewayHarness(std::vector<UpstreamOptions> servers, std::size_t max_processes = 256,
                          server::EngineOptions eo = {}, GatewayOptions go = {})
      : engine_(eo) {
    go.max_processes = max_processes;
    go.channel_factory = fakes.factory();
    go.audit = [this](json::object e) { audit_events.push_back(std::move(e)); };
    gateway_ =
        std::make_shared<GatewayBackend>(ioc_.get_executor(), std::move(servers), std::move(go));
    engine_.add_backend(gateway_);
  }
  ~GatewayHarness() {
    if (ended_) return;
    engine_.close_all();
    gateway_->shutdown();
    run_for(50ms);
  }
  // Ends as `bastion serve` does (App::serve): the loop stops first, then the
  // gateway shuts down; whatever was still queued is destroyed unrun with the
  // loop (the harness's last member to go), never resumed.
  void end_as_serve_does() {
    ioc_.stop();
    engine_.close_all();
    gateway_->shutdown();
    ended_ = true;
  }

  testing::FakeFactory fakes;              // script servers before start()
  std::vector<json::object> audit_events;  // what the gateway audited
  GatewayBackend& gateway() { return *gateway_; }
  server::Engine& engine() { return engine_; }
  boost::asio::io_context& ioc() { return ioc_; }

  void start() {
    gateway_->start();
    run_for(20ms);
  }

  FakeClient connect(json::object capabilities = {},
                     protocol::Principal who = protocol::Principal::anonymous()) {
    FakeClient c;
    c.session = engine_.create_session(std::move(who));
    c.session->initialize(
        json::object{{"protocolVersion", "2025-06-18"},
                     {"capabilities", std::move(capabilities)},
                     {"clientInfo", json::object{{"name", "t"}, {"version", "1"}}}});
    c.out = std::make_shared<server::Outbox>(ioc_.get_executor());
    c.standalone = std::make_shared<server::Outbox>(ioc_.get_executor());
    c.session->attach_standalone(c.standalone);
    return c;
  }

  // A Modern (2026-07-28) client: no initialize, each request says who it is
  // in its `_meta` (as_modern below).
  FakeClient connect_modern(protocol::Principal who = protocol::Principal::anonymous()) {
    FakeClient c;
    c.session = engine_.create_ephemeral_session(std::move(who));
    c.out = std::make_shared<server::Outbox>(ioc_.get_executor());
    c.standalone = std::make_shared<server::Outbox>(ioc_.get_executor());
    return c;
  }

  // Sends a request and returns its id; the response arrives while the loop runs.
  std::int64_t begin(FakeClient& c, const std::string& method, json::object params = {}) {
    std::int64_t id = ++next_id_;
    c.session->deliver(protocol::make_request(id, method, std::move(params)), c.out,
                       ioc_.get_executor());
    return id;
  }
  // Moves what Bastion sent `c` into c.seen / c.seen_standalone.
  // Read back from the text a transport writes (a relayed result is only
  // there, not in the message object).
  void drain(FakeClient& c) {
    while (auto m = c.out->try_pop())
      if (m->message) c.seen.push_back(as_client_sees(*m));
    while (auto m = c.standalone->try_pop())
      if (m->message) c.seen_standalone.push_back(as_client_sees(*m));
  }
  static json::object as_client_sees(const server::Outgoing& m) {
    return json::parse(server::wire_text(m)).as_object();
  }
  std::optional<json::object> response(FakeClient& c, std::int64_t id) {
    drain(c);
    for (auto& m : c.seen)
      if (!m.contains("method") && m.contains("id") && m.at("id") == json::value(id)) return m;
    return std::nullopt;
  }
  // Runs until the response to `id` is in (or `timeout`).
  json::object await(FakeClient& c, std::int64_t id, std::chrono::milliseconds timeout = 3000ms) {
    std::optional<json::object> r;
    run_until([&] { return (r = response(c, id)).has_value(); }, timeout);
    if (!r) {
      ADD_FAILURE() << "no response to request " << id;
      return {};
    }
    return *r;
  }
  json::object request(FakeClient& c, const std::string& method, json::object params = {}) {
    return await(c, begin(c, method, std::move(params)));
  }
  json::object call(FakeClient& c, const std::string& tool, json::object args = {}) {
    return request(c, "tools/call", json::object{{"name", tool}, {"arguments", std::move(args)}});
  }
  std::vector<std::string> tool_names(FakeClient& c) {
    std::vector<std::string> names;
    auto r = request(c, "tools/list");
    if (auto* res = r.if_contains("result"))
      for (auto& t : res->at("tools").as_array()) names.emplace_back(t.at("name").as_string());
    return names;
  }
  // Server-to-client requests `c` received (method given, or any).
  std::vector<json::object> requests_to(FakeClient& c, std::string_view method = {}) {
    drain(c);
    std::vector<json::object> out;
    for (auto* list : {&c.seen, &c.seen_standalone})
      for (auto& m : *list)
        if (m.contains("method") && m.contains("id") &&
            (method.empty() || m.at("method").as_string() == method))
          out.push_back(m);
    return out;
  }
  std::vector<json::object> notifications_to(FakeClient& c, std::string_view method) {
    drain(c);
    std::vector<json::object> out;
    for (auto* list : {&c.seen, &c.seen_standalone})
      for (auto& m : *list)
        if (m.contains("method") && !m.contains("id") && m.at("method").as_string() == method)
          out.push_back(m);
    return out;
  }
  // The client answers a server-to-client request.
  void answer(FakeClient& c, const json::object& request, json::object result) {
    c.session->deliver(protocol::make_result(request.at("id"), std::move(result)), c.out,
                       ioc_.get_executor());
  }

  void run_for(std::chrono::milliseconds d) {
    ioc_.restart();
    ioc_.run_for(d);
  }
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 3000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      ioc_.restart();
      ioc_.run_for(5ms);
    }
    return true;
  }

 private:
  boost::asio::io_context ioc_;  // before everything that holds one of its executors
  // run_for() runs for the whole period even when nothing is queued.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      ioc_.get_executor()};
  server::Engine engine_;
  std::shared_ptr<GatewayBackend> gateway_;
  std::int64_t next_id_ = 1000;
  bool ended_ = false;  // end_as_serve_does() ran
};

// `params` as a Modern client sends them: its version and capabilities in
// `_meta`, elicitation and sampling declared, and the tasks extension when
// `tasks_extension`.
inline json::object as_modern(json::object params, bool tasks_extension = false) {
  namespace mk = protocol::meta_key;
  json::object caps{{"elicitation", json::object{}}, {"sampling", json::object{}}};
  if (tasks_extension)
    caps["extensions"] = json::object{{"io.modelcontextprotocol/tasks", json::object{}}};
  params["_meta"] = json::object{{mk::kProtocolVersion, "2026-07-28"},
                                 {mk::kClientCapabilities, std::move(caps)}};
  return params;
}

inline std::string text_of(const json::object& response) {
  auto* r = response.if_contains("result");
  if (!r) return "";
  std::string out;
  for (auto& c : r->at("content").as_array())
    if (auto* t = c.as_object().if_contains("text")) out += t->as_string();
  return out;
}

// The object a finished two_asks() task's result text holds (the client's
// answers by kind), from a tasks/get response.
inline json::object task_replies(const json::object& get_response) {
  const auto& text = get_response.at("result").at("result").at("content").at(0).at("text");
  return json::parse(text.as_string()).as_object();
}

inline std::int64_t error_code(const json::object& response) {
  auto* e = response.if_contains("error");
  return e ? e->at("code").as_int64() : 0;
}

inline std::string error_message(const json::object& response) {
  auto* e = response.if_contains("error");
  return e ? std::string(e->at("message").as_string()) : "";
}

}  // namespace bastion::gateway::testing
