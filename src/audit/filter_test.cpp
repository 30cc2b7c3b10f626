#include "audit/filter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <thread>

#include "audit/sanitize.hpp"
#include "audit/test_util.hpp"
#include "audit/writer_lock.hpp"
#include "server/builtin_backend.hpp"
#include "server/engine.hpp"
#include "server/session.hpp"

namespace bastion::audit {
namespace {

namespace json = boost::json;

TEST(AuditEvent, CarriesTheSeedFieldsAndNoValues) {
  protocol::Principal p;
  p.subject = "mcp-client";
  p.client_id = "mcp-client";
  server::CallContext ctx{p, "sess", "7", "tools/call", "crm", "lookup"};
  ctx.notes.parameter_count = 2;
  ctx.notes.contains_pii = true;
  ctx.notes.pii_action = server::DataAction::kMask;
  ctx.notes.pii = {{"email", 1}};
  auto e = json::parse(audit_record_text(ctx, "ok", nullptr)).as_object();
  for (const char* k :
       {"event_type", "tool_name", "user_id", "client_id", "contains_pii", "action_taken",
        "parameter_count", "request_id", "server", "pii", "decision", "latency_us"})
    EXPECT_TRUE(e.contains(k)) << k;
  EXPECT_EQ(e.at("action_taken"), "masked");
  EXPECT_EQ(e.at("parameter_count"), 2);
  EXPECT_EQ(e.at("user_id"), "mcp-client");
}

// The record is written as text where it is read: long values whole up to
// the cap, every kind of byte escaped, and what sanitize_event() removes
// (queries, tokens, credential-named members) gone, as in any record.
TEST(AuditEvent, TheRecordTextIsSanitizedEscapedJson) {
  const std::string jwt =
      "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJtY3AtY2xpZW50In0.c2lnbmF0dXJlc2lnbmF0dXJl";
  protocol::Principal p;
  p.subject = std::string(3000, 's');  // over the 1 KiB cap
  p.client_id = "Bearer abcdefgh12345678";
  const std::string session = "s?access_token=" + jwt;
  const std::string tool = std::string("t\"\\\n\x01\x7f") + "\xed\x95\x9c" + " " + jwt;
  server::CallContext ctx{p, session, "7", "tools/call", "crm", tool};
  ctx.notes.contains_pii = true;
  ctx.notes.pii_action = server::DataAction::kReject;
  for (int i = 0; i < 40; ++i) ctx.notes.pii.emplace("type_" + std::to_string(i), i);
  ctx.notes.pii.emplace("api_key", 3);  // a custom type named as a credential
  ctx.notes.secrets_redacted = 2;
  protocol::RpcError error{-32602, "bad"};
  std::string text = audit_record_text(ctx, "rejected", &error);
  EXPECT_EQ(text.find(jwt), std::string::npos) << text;
  EXPECT_EQ(text.find("abcdefgh12345678"), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), std::string::npos);  // escaped, never raw
  json::object e = json::parse(text).as_object();
  EXPECT_EQ(e.size(), 17u) << text;
  EXPECT_EQ(e.at("user_id").as_string().size(), kMaxRecordString + 20) << e.at("user_id");
  EXPECT_EQ(std::string_view(e.at("user_id").as_string()).substr(0, 1024), std::string(1024, 's'));
  EXPECT_EQ(std::string_view(e.at("session_id").as_string()).find("eyJ"), std::string::npos);
  EXPECT_EQ(e.at("client_id"), "Bearer [removed]");
  EXPECT_EQ(std::string_view(e.at("tool_name").as_string()),
            std::string("t\"\\\n\x01\x7f") + "\xed\x95\x9c" + " [token removed]");
  EXPECT_EQ(e.at("pii").as_object().size(), 41u);
  EXPECT_EQ(e.at("pii").at("type_39"), 39);
  EXPECT_EQ(e.at("pii").at("api_key"), "[removed]");
  EXPECT_EQ(e.at("action_taken"), "rejected");
  EXPECT_EQ(e.at("decision"), "reject");
  EXPECT_EQ(e.at("secrets_redacted"), 2);
  EXPECT_EQ(e.at("error_code"), -32602);
  EXPECT_EQ(e.at("outcome"), "rejected");
  EXPECT_TRUE(e.at("latency_us").is_int64());
  // Exactly what sanitize_event() leaves of the same members.
  json::object pii;
  for (const auto& [type, count] : ctx.notes.pii) pii[type] = count;
  json::object raw{{"event_type", "tool_call"},
                   {"tool_name", tool},
                   {"server", "crm"},
                   {"method", "tools/call"},
                   {"user_id", p.subject},
                   {"client_id", p.client_id},
                   {"contains_pii", true},
                   {"action_taken", "rejected"},
                   {"parameter_count", 0},
                   {"request_id", "7"},
                   {"session_id", session},
                   {"pii", pii},
                   {"decision", "reject"},
                   {"secrets_redacted", 2},
                   {"outcome", "rejected"},
                   {"error_code", -32602},
                   {"latency_us", e.at("latency_us")}};
  sanitize_event(raw);
  EXPECT_EQ(raw, e);
  // Byte for byte: the text is what serializing those members writes.
  EXPECT_EQ(text, json::serialize(raw));
}

using testing::Audit;

TEST_F(Audit, TheFilterRecordsUnknownTargetsWithTheirOutcome) {
  auto log = std::make_shared<AuditLog>(opts_);
  AuditFilter f(log);
  protocol::Principal p;
  p.client_id = "c";
  server::CallContext ctx{p, "sess", "9", "tools/call", "", "no_such_tool"};
  ctx.notes.unresolved = "unknown";
  protocol::RpcError e{protocol::kInvalidParams, "Unknown tool: no_such_tool"};
  f.on_error(e, ctx);
  log.reset();
  auto rs = records();
  bool found = false;
  for (const auto& r : rs)
    if (r.at("event_type") == "tool_call") {
      found = true;
      EXPECT_EQ(r.at("outcome"), "unknown");
      EXPECT_EQ(r.at("tool_name"), "no_such_tool");
      EXPECT_EQ(r.at("error_code"), protocol::kInvalidParams);
    }
  EXPECT_TRUE(found);
}

// The engine with the audit filter and a real log: what a client sees.
class AuditedEngine : public Audit {
 protected:
  void start() {
    log_ = std::make_shared<AuditLog>(opts_);
    auto b = std::make_shared<server::BuiltinBackend>("local");
    b->add_sync_tool(
        server::SyncTool{json::object{{"name", "echo"}},
                         [](const json::object&, const protocol::Principal&) -> protocol::Outcome {
                           return server::text_result("echoed");
                         }});
    engine_.add_backend(b);
    engine_.filters().add(std::make_shared<AuditFilter>(log_));
    session_ = engine_.create_session(protocol::Principal::anonymous());
    out_ = std::make_shared<server::Outbox>(ioc_.get_executor());
  }
  void send(int id, const std::string& method, json::object params = {}) {
    session_->deliver(protocol::make_request(id, method, std::move(params)), out_,
                      ioc_.get_executor());
  }
  // Runs the I/O context for `d` and returns the answers that came out.
  std::map<int, json::object> pump(std::chrono::milliseconds d) {
    ioc_.restart();
    ioc_.run_for(d);
    std::map<int, json::object> got;
    while (auto m = out_->try_pop())
      if (m->ends_request && m->message) got[int(m->message->at("id").as_int64())] = *m->message;
    return got;
  }
  // The tool_call records on file, by request id.
  std::map<std::string, json::object> call_records() {
    std::map<std::string, json::object> out;
    for_each_audit_record(opts_.dir, [&](const json::object& r) {
      if (r.at("event_type") == "tool_call") out[std::string(r.at("request_id").as_string())] = r;
    });
    return out;
  }

  // As App's destructor: a call still waiting for its record (a failed
  // ASSERT) gets it while ioc_, destroyed last, still exists.
  void TearDown() override {
    if (log_) log_->stop_writer();
  }

  boost::asio::io_context ioc_;
  server::Engine engine_{server::EngineOptions{}};
  std::shared_ptr<AuditLog> log_;
  std::shared_ptr<server::Session> session_;
  std::shared_ptr<server::Outbox> out_;
};

// A call is answered only once its record is written, and waiting for the
// disk holds no I/O thread: with the log's writer stuck behind another
// writer's lock, the only I/O thread still answers other requests.
TEST_F(AuditedEngine, ACallIsAnsweredOnlyAfterItsRecordIsWrittenWithoutHoldingTheThread) {
  start();
  pump(std::chrono::milliseconds(10));
  auto other = std::make_unique<WriterLock>(opts_.dir);
  other->take();  // the log hands audit.lock over at its next tick
  send(1, "tools/call", json::object{{"name", "echo"}, {"arguments", json::object{}}});
  send(2, "tools/call", json::object{{"name", "no_such_tool"}});
  send(3, "tools/list");
  auto got = pump(std::chrono::milliseconds(300));
  EXPECT_FALSE(got.contains(1)) << "answered before its record was written";
  EXPECT_FALSE(got.contains(2)) << "an error answered before its record was written";
  EXPECT_TRUE(got.contains(3)) << "the I/O thread was held";
  EXPECT_TRUE(call_records().empty());
  other.reset();
  got = pump(std::chrono::milliseconds(300));
  ASSERT_TRUE(got.contains(1));
  EXPECT_EQ(got[1].at("result").at("content").at(0).at("text"), "echoed");
  ASSERT_TRUE(got.contains(2));
  EXPECT_EQ(got[2].at("error").at("code"), protocol::kInvalidParams);
  auto recs = call_records();
  ASSERT_TRUE(recs.contains("1"));
  EXPECT_EQ(recs["1"].at("outcome"), "ok");
  ASSERT_TRUE(recs.contains("2"));
  EXPECT_EQ(recs["2"].at("outcome"), "unknown");
  EXPECT_EQ(recs.size(), 2u);  // one record per call
}

// With too many records waiting for the writer, new calls are refused before
// they run (bounded memory); the ones queued are still answered once written.
TEST_F(AuditedEngine, ABackloggedLogRefusesNewCallsAndAnswersTheQueuedOnes) {
  opts_.max_queued_bytes = 0;  // one waiting record is too many
  opts_.max_batch_records = 1;
  start();
  pump(std::chrono::milliseconds(10));
  auto other = std::make_unique<WriterLock>(opts_.dir);
  other->take();
  json::object call{{"name", "echo"}, {"arguments", json::object{}}};
  send(1, "tools/call", call);  // taken by the writer, which then waits for the lock
  pump(std::chrono::milliseconds(50));
  send(2, "tools/call", call);  // waits in the queue
  pump(std::chrono::milliseconds(50));
  send(3, "tools/call", call);  // refused
  auto got = pump(std::chrono::milliseconds(100));
  ASSERT_TRUE(got.contains(3));
  EXPECT_EQ(got[3].at("error").at("code"), protocol::kAuditUnavailable);
  EXPECT_FALSE(got.contains(1));
  EXPECT_FALSE(got.contains(2));
  other.reset();
  got = pump(std::chrono::milliseconds(300));
  ASSERT_TRUE(got.contains(1));
  ASSERT_TRUE(got.contains(2));
  EXPECT_TRUE(got[1].contains("result"));
  EXPECT_TRUE(got[2].contains("result"));
  EXPECT_FALSE(log_->backlogged());
  auto recs = call_records();
  EXPECT_TRUE(recs.contains("1") && recs.contains("2"));
  EXPECT_FALSE(recs.contains("3"));  // refused before it ran, as on a full disk
}

// Records on_request cannot refuse (here calls to unknown tools, as a
// prober would flood them) do not grow a backlogged queue: they are written
// by their own I/O thread, which waits for the writer meanwhile.
TEST_F(AuditedEngine, WhileBackloggedRecordsOfCallsToUnknownToolsHoldTheirThreadNotTheQueue) {
  opts_.max_queued_bytes = 0;   // one waiting record is too many
  opts_.max_batch_records = 1;  // the writer holds call 1's record, then waits for the lock
  start();
  pump(std::chrono::milliseconds(10));
  auto other = std::make_unique<WriterLock>(opts_.dir);
  other->take();
  send(1, "tools/call", json::object{{"name", "echo"}, {"arguments", json::object{}}});
  pump(std::chrono::milliseconds(50));
  send(2, "tools/call", json::object{{"name", "no_such_tool"}});  // queued: now backlogged
  pump(std::chrono::milliseconds(50));
  ASSERT_TRUE(log_->backlogged());
  std::atomic<bool> released{false};
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    released = true;
    other.reset();
  });
  send(3, "tools/call", json::object{{"name", "no_such_tool_either"}});
  auto got = pump(std::chrono::milliseconds(50));
  EXPECT_TRUE(released.load()) << "call 3's record was queued beyond the bound";
  release.join();
  for (auto& [id, m] : pump(std::chrono::milliseconds(200))) got[id] = m;
  for (int id : {1, 2, 3}) EXPECT_TRUE(got.contains(id)) << id;
  EXPECT_EQ(got[3].at("error").at("code"), protocol::kInvalidParams);
  auto recs = call_records();
  ASSERT_TRUE(recs.contains("3"));
  EXPECT_EQ(recs["3"].at("outcome"), "unknown");
  EXPECT_EQ(recs.size(), 3u);
  EXPECT_FALSE(log_->backlogged());
}

// Shutdown with the I/O context still running (App after a drained
// SIGTERM): stop_writer() writes the records calls wait for, the one being
// written and the one queued behind it, and the calls are answered with
// their results; a call after it is written by its own thread.
TEST_F(AuditedEngine, StoppingTheWriterWritesAndAnswersTheWaitingCallsAndLaterOnes) {
  opts_.max_batch_records = 1;  // the writer holds call 1's record; call 2's stays queued
  start();
  pump(std::chrono::milliseconds(10));
  auto other = std::make_unique<WriterLock>(opts_.dir);
  other->take();
  json::object call{{"name", "echo"}, {"arguments", json::object{}}};
  send(1, "tools/call", call);
  EXPECT_TRUE(pump(std::chrono::milliseconds(50)).empty());
  send(2, "tools/call", call);
  EXPECT_TRUE(pump(std::chrono::milliseconds(50)).empty());
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    other.reset();
  });
  log_->stop_writer();  // returns once the queued records are written
  release.join();
  auto recs = call_records();
  EXPECT_TRUE(recs.contains("1") && recs.contains("2"));
  auto got = pump(std::chrono::milliseconds(100));
  for (int id : {1, 2}) {
    ASSERT_TRUE(got.contains(id)) << id;
    EXPECT_EQ(got[id].at("result").at("content").at(0).at("text"), "echoed");
  }
  send(3, "tools/call", call);
  got = pump(std::chrono::milliseconds(100));
  ASSERT_TRUE(got.contains(3));
  EXPECT_TRUE(got[3].contains("result"));
  EXPECT_TRUE(call_records().contains("3"));
}

// Shutdown as App does it after a grace period ran out: the I/O threads are
// gone with two calls suspended on their records, the log's writer stuck
// behind another process's lock with one, the other queued. stop_writer()
// writes both and hands the calls' completions to the stopped context; then
// the engine goes, then the context, destroying the suspended calls, which
// held the last references to the log. Nothing is left queued, running or
// leaked (the sanitizer build checks the frees).
TEST_F(Audit, ShutdownWithCallsSuspendedOnTheirRecordsWritesThemAndFreesTheLog) {
  opts_.max_batch_records = 1;  // the writer holds call 1's record; call 2's stays queued
  opts_.max_queued_bytes = 0;   // backlogged() then says whether any record is queued
  std::weak_ptr<AuditLog> weak;
  std::weak_ptr<server::Session> weak_session;
  {
    boost::asio::io_context ioc;
    auto log = std::make_shared<AuditLog>(opts_);
    weak = log;
    {
      server::Engine engine{server::EngineOptions{}};
      auto b = std::make_shared<server::BuiltinBackend>("local");
      b->add_sync_tool(server::SyncTool{
          json::object{{"name", "echo"}},
          [](const json::object&, const protocol::Principal&) -> protocol::Outcome {
            return server::text_result("echoed");
          }});
      engine.add_backend(b);
      engine.filters().add(std::make_shared<AuditFilter>(log));
      auto session = engine.create_session(protocol::Principal::anonymous());
      weak_session = session;
      auto out = std::make_shared<server::Outbox>(ioc.get_executor());
      ioc.run_for(std::chrono::milliseconds(10));
      auto other = std::make_unique<WriterLock>(opts_.dir);
      other->take();
      for (int id : {1, 2}) {
        session->deliver(
            protocol::make_request(id, "tools/call",
                                   json::object{{"name", "echo"}, {"arguments", json::object{}}}),
            out, ioc.get_executor());
        ioc.restart();  // the run_for above ran out of work
        ioc.run_for(std::chrono::milliseconds(50));
      }
      EXPECT_FALSE(out->try_pop().has_value()) << "answered before its record was written";
      EXPECT_TRUE(log->backlogged()) << "no record waits behind the batch being written";
      ioc.stop();  // the I/O threads are gone
      std::thread release([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        other.reset();
      });
      log->stop_writer();
      release.join();
      log.reset();
      session.reset();
    }  // the engine goes first, as in App
    EXPECT_FALSE(weak.expired()) << "the suspended call no longer holds the log";
  }  // the context goes, and the suspended call with it
  EXPECT_TRUE(weak.expired()) << "the log outlived everything that used it";
  EXPECT_TRUE(weak_session.expired());
  std::map<std::string, json::object> recs;
  for_each_audit_record(opts_.dir, [&](const json::object& r) {
    if (r.at("event_type") == "tool_call") recs[std::string(r.at("request_id").as_string())] = r;
  });
  for (const char* id : {"1", "2"}) {
    ASSERT_TRUE(recs.contains(id)) << id;
    EXPECT_EQ(recs[id].at("outcome"), "ok");
  }
}

}  // namespace
}  // namespace bastion::audit
