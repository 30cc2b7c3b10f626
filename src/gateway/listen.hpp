// The client side of subscriptions/listen (spec 2026-07-28
// basic/patterns/subscriptions) toward one Modern upstream instance: which
// resource URIs Bastion's clients watch there (a Legacy session's
// resources/subscribe, a Modern client's own listen to Bastion) and so which
// URIs the listen Bastion holds open must ask for, and which notifications of
// the upstream belong to a listen Bastion opened and acknowledged, for a URI
// someone watches. Everything else an upstream sends in that shape is
// dropped with a reason. Pure bookkeeping, no I/O; not thread-safe (the
// Upstream guards it with its mutex).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/route.hpp"

namespace bastion::gateway {

// The bounds on what clients make Bastion watch on one upstream instance:
// URI templates let a client name endless URIs, and every URI goes in the
// listen sent upstream (Bastion's own server takes at most 100 per listen).
struct WatchLimits {
  std::size_t max_uris = 100;         // the union, per upstream instance
  std::size_t max_per_watcher = 100;  // per session or client listen
};

// Who watches which URI, each watcher under its own key ("session:<id>",
// "listen:<n>").
class Watchers {
 public:
  explicit Watchers(WatchLimits limits = {}) : limits_(limits) {}
  enum class Added { kAlready, kAdded, kTooMany };
  // kAdded when the union of URIs grew (the listen must be reopened).
  Added watch(const std::string& who, const std::string& uri);
  // True when the union shrank.
  bool unwatch(const std::string& who, const std::string& uri);
  bool forget(const std::string& who);
  bool watched(std::string_view uri) const { return by_uri_.count(uri) > 0; }
  // The union, sorted.
  std::vector<std::string> uris() const;
  std::size_t size() const { return by_uri_.size(); }

 private:
  WatchLimits limits_;
  std::map<std::string, std::set<std::string>, std::less<>> by_uri_;  // uri -> watchers
  std::map<std::string, std::set<std::string>> by_who_;               // watcher -> uris
};

// The listens Bastion opened on one upstream instance.
class OpenListens {
 public:
  // Our request `id` went out asking for `uris` (its `generation` orders the
  // listens: a newer acknowledged one supersedes the older ones).
  void opened(std::int64_t id, std::uint64_t generation, std::vector<std::string> uris);
  void closed(std::int64_t id);
  bool is_open(std::int64_t id) const { return open_.count(id) > 0; }
  bool acknowledged(std::int64_t id) const;
  std::size_t size() const { return open_.size(); }
  // The open listens older than `generation` (to cancel once it is acknowledged).
  std::vector<std::int64_t> older_than(std::uint64_t generation) const;
  std::optional<std::uint64_t> generation_of(std::int64_t id) const;

  struct Verdict {
    enum Kind {
      kOther,            // not a subscription notification: handled as before
      kAcknowledged,     // the listen `id` is live
      kListChanged,      // `list` changed
      kResourceUpdated,  // `uri` changed
      kDrop,             // refused: `why`
    } kind = kOther;
    std::int64_t id = 0;
    server::Kind list = server::Kind::kTool;
    std::string uri;
    std::string why;
  };
  // Judges one notification of a Modern upstream (and, for an
  // acknowledgment, records it). `related`: the id of our request whose
  // response stream carried it (Streamable HTTP), unset on stdio.
  // `watchers`: who watches what now.
  Verdict judge(const boost::json::object& msg, std::optional<std::int64_t> related,
                const Watchers& watchers);

 private:
  struct Listen {
    std::uint64_t generation = 0;
    std::set<std::string, std::less<>> uris;  // asked for, then as acknowledged
    bool acknowledged = false;
  };
  std::map<std::int64_t, Listen> open_;
};

// The `notifications` filter of the listen Bastion opens: every list change
// (the catalogue refreshes as for a Legacy upstream) and `uris` when the
// server supports resource subscriptions.
boost::json::object listen_filter(const std::vector<std::string>& uris, bool subscribe);
// The params of that subscriptions/listen request.
boost::json::object listen_params(const std::vector<std::string>& uris, bool subscribe);

}  // namespace bastion::gateway
