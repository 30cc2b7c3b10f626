// subscriptions/listen (spec 2026-07-28 basic/patterns/subscriptions): the
// open listen requests and what each asked to hear. A listen is a request
// whose answer is a long stream: its notifications go on that request's
// stream, tagged with its id in `_meta["io.modelcontextprotocol/subscriptionId"]`,
// and only the types it asked for. The registry is bounded (in total and per
// caller) so a flood of listens cannot pin unbounded memory or fan-out work.
#pragma once

#include <atomic>
#include <boost/json.hpp>
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
#include "server/context.hpp"
#include "server/route.hpp"

namespace bastion::server {

// What one listen asked for, as the server agreed to honour it.
struct ListenFilter {
  bool tools = false;
  bool prompts = false;
  bool resources = false;
  std::set<std::string, std::less<>> uris;  // resourceSubscriptions

  // The `notifications` object of the acknowledgment.
  boost::json::object to_json() const;
};

// Parses the request's `notifications` filter: -32602 when malformed or over
// `max_uris` URIs.
protocol::Expected<ListenFilter, protocol::RpcError> parse_listen_filter(
    const boost::json::object& params, std::size_t max_uris);

struct SubscriptionLimits {
  std::size_t max_total = 1000;
  std::size_t max_per_caller = 32;  // per OAuth2 client (anonymous callers share one)
  std::size_t max_uris = 100;       // resourceSubscriptions per listen
};

// Thread-safe.
class Subscriptions {
 public:
  explicit Subscriptions(SubscriptionLimits limits = {}) : limits_(limits) {}

  struct Listener {
    std::weak_ptr<RequestContext> ctx;
    std::string caller;  // key of the per-caller bound
    boost::json::value id;
    ListenFilter filter;
    // Set when the server ends the subscription (shutdown); the listen
    // notices within its poll interval and answers its request.
    std::shared_ptr<std::atomic<bool>> ended;
    // Set once the acknowledgment went out: nothing is sent before it.
    std::shared_ptr<std::atomic<bool>> acknowledged;
  };

  // Registers a listen; nullopt when a bound is reached.
  std::optional<std::uint64_t> add(Listener l);
  void remove(std::uint64_t handle);
  std::size_t size() const;

  // Delivers a change to the listens that asked for it. `may_hear` decides
  // per caller for messages tied to one server (nullptr: everyone).
  void list_changed(Kind kind,
                    const std::function<bool(const protocol::Principal&)>& may_hear = nullptr);
  void resource_updated(std::string_view uri,
                        const std::function<bool(const protocol::Principal&)>& may_hear);
  // Ends every listen gracefully (each answers its request): shutdown.
  void end_all();
  // Ends the listens whose caller `ends` picks (nothing reaches them from
  // now on; each answers its request within its poll interval). How many.
  std::size_t end_where(const std::function<bool(const protocol::Principal&)>& ends);

  const SubscriptionLimits& limits() const { return limits_; }

 private:
  void deliver(const Listener& l, boost::json::object notification);

  SubscriptionLimits limits_;
  mutable std::mutex mu_;
  std::uint64_t next_ = 1;
  std::map<std::uint64_t, Listener> listeners_;
  std::map<std::string, std::size_t> per_caller_;
};

}  // namespace bastion::server
