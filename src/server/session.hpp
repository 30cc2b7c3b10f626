// Session: one MCP client connection's state (negotiated version, client
// capabilities, log level, subscriptions, in-flight requests and pending
// server-to-client requests). Transports feed it messages with deliver().
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "protocol/jsonrpc.hpp"
#include "protocol/principal.hpp"
#include "server/backlog.hpp"
#include "server/context.hpp"
#include "server/mailbox.hpp"
#include "server/outbox.hpp"

namespace bastion::server {

class Engine;

// Thread-safe.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Engine& engine, std::string id, protocol::Principal principal);
  ~Session();

  const std::string& id() const { return id_; }
  Engine& engine() { return engine_; }

  // The caller that opened the session, with the scopes it had then.
  const protocol::Principal& owner() const { return owner_; }
  // Whether `p` is the caller that opened the session (issuer, subject and
  // client; scopes aside). To anyone else it does not exist.
  bool belongs_to(const protocol::Principal& p) const { return owner_.same_identity(p); }
  // The caller of the requests about to be delivered: `p`, the session's
  // owner with the scopes its token holds now (narrowed since, or not),
  // shared; from now on also the session's caller() for messages tied to no
  // request. `p` must belong_to() the session.
  std::shared_ptr<const protocol::Principal> admit_caller(const protocol::Principal& p);
  // Who messages tied to no request are checked for: the owner with the
  // scopes of its latest request (those of its initialize until then).
  std::shared_ptr<const protocol::Principal> caller() const;

  // Feeds one message from the client. Responses and request-related
  // messages go to `out`; request handlers run on `ex`. A request is served
  // with the scopes of `caller` (from admit_caller; nullptr: caller()).
  void deliver(boost::json::object msg, const std::shared_ptr<Outbox>& out,
               const boost::asio::any_io_executor& ex,
               std::shared_ptr<const protocol::Principal> caller = nullptr);
  // Same, for a message the transport has already classified.
  void deliver(protocol::Message msg, const std::shared_ptr<Outbox>& out,
               const boost::asio::any_io_executor& ex,
               std::shared_ptr<const protocol::Principal> caller = nullptr);
  // Convenience for transports: a message that failed classification.
  static void reject(const protocol::ClassifyError& e, Outbox& out);

  // Where server-initiated messages without a related request go (the HTTP
  // GET stream, or stdout). Messages sent while none is attached are held in
  // a backlog bounded by count and bytes (EngineOptions::standalone_backlog;
  // the oldest go first, counted in bastion_notifications_dropped_total) and
  // flushed when one attaches.
  void attach_standalone(std::shared_ptr<Outbox> out);
  void detach_standalone(const std::shared_ptr<Outbox>& out);
  // `server`: the server it comes from, when known (the filters apply that
  // server's policy to it).
  void notify(boost::json::object notification, std::string_view server = {});

  // Negotiated state.
  bool initialized() const { return initialized_.load(); }
  // An initialize succeeded: the version is fixed and another is refused.
  bool negotiated() const { return negotiated_.load(); }
  // JSON-RPC batches: only once 2025-03-26 was negotiated (later versions
  // removed them, and before initialize nothing is negotiated).
  bool allows_batches() const;
  // Fixed by initialize; safe to hold while the session lives.
  std::string_view protocol_version() const { return version_.load(); }
  std::shared_ptr<const boost::json::object> client_capabilities() const;
  LogLevel log_level() const { return static_cast<LogLevel>(log_level_.load()); }
  void set_log_level(LogLevel l) { log_level_.store(static_cast<int>(l)); }
  bool subscribed(std::string_view uri) const;
  void subscribe(std::string uri);
  void unsubscribe(const std::string& uri);

  // Used by Engine::dispatch for initialize.
  protocol::Outcome initialize(const boost::json::object& params);

  // Server-to-client requests (used by RequestContext).
  struct Pending;
  std::shared_ptr<Pending> new_pending(boost::json::value& id_out,
                                       const boost::asio::any_io_executor& ex);
  void forget_pending(const boost::json::value& id);
  // Forgets it and wakes its waiter with nothing (the request was withdrawn).
  void cancel_pending(const boost::json::value& id);

  // Requests received and not yet answered.
  std::size_t in_flight() const {
    std::lock_guard lk(mu_);
    return in_flight_.size();
  }
  std::chrono::steady_clock::time_point last_activity() const;
  void touch();
  // Cancels every in-flight request and pending client request.
  void close();
  bool closed() const { return closed_.load(); }
  // Approximate bytes held for a standalone stream that is not attached.
  std::size_t backlog_bytes() const {
    std::lock_guard lk(mu_);
    return standalone_backlog_.bytes();
  }

 private:
  void start_request(protocol::Message msg, const std::shared_ptr<Outbox>& out,
                     const boost::asio::any_io_executor& ex,
                     std::shared_ptr<const protocol::Principal> caller);
  // caller() with mu_ held.
  std::shared_ptr<const protocol::Principal> current_caller() const;
  void on_notification(const protocol::Message& msg);
  void on_response(protocol::Message msg);
  static std::string id_key(const boost::json::value& id);

  Engine& engine_;
  const std::string id_;
  const protocol::Principal owner_;
  std::atomic<bool> initialized_{false};
  std::atomic<bool> negotiated_{false};
  std::atomic<bool> closed_{false};
  std::atomic<int> log_level_{static_cast<int>(LogLevel::kDebug)};
  std::atomic<std::int64_t> last_activity_ns_;
  std::atomic<std::int64_t> next_request_id_{1};

  mutable std::mutex mu_;
  // Points into protocol::kSupportedVersions (static storage).
  std::atomic<const char*> version_{"2025-03-26"};
  std::shared_ptr<const boost::json::object> client_caps_;
  boost::json::object client_info_;
  std::set<std::string, std::less<>> subscriptions_;
  // The latest request's caller when its scopes differ from owner_'s.
  std::shared_ptr<const protocol::Principal> caller_;
  struct InFlight {
    std::weak_ptr<RequestContext> ctx;
    boost::asio::any_io_executor ex;
  };
  std::map<std::string, InFlight> in_flight_;
  std::map<std::string, std::shared_ptr<Pending>> pending_;
  std::shared_ptr<Outbox> standalone_;
  Backlog standalone_backlog_;
};

struct Session::Pending {
  std::shared_ptr<Mailbox> reply;  // receives the client's response message
};

}  // namespace bastion::server
