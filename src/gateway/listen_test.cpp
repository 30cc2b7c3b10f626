#include "gateway/listen.hpp"

#include <gtest/gtest.h>

#include "protocol/era.hpp"

namespace bastion::gateway {
namespace {

namespace json = boost::json;
using Verdict = OpenListens::Verdict;

json::object note(std::string_view method, json::value sub, json::object params = {}) {
  if (!sub.is_null()) params["_meta"] = json::object{{protocol::meta_key::kSubscriptionId, sub}};
  return json::object{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

json::object ack(std::int64_t id, json::array uris) {
  return note("notifications/subscriptions/acknowledged", id,
              json::object{{"notifications", json::object{{"toolsListChanged", true},
                                                          {"resourceSubscriptions", uris}}}});
}

json::object updated(json::value sub, std::string_view uri) {
  return note("notifications/resources/updated", std::move(sub), json::object{{"uri", uri}});
}

TEST(Watchers, TheUnionGrowsAndShrinksWithItsWatchers) {
  Watchers w;
  EXPECT_EQ(w.watch("session:a", "file:///x"), Watchers::Added::kAdded);
  EXPECT_EQ(w.watch("session:b", "file:///x"), Watchers::Added::kAlready);  // union unchanged
  EXPECT_EQ(w.watch("session:b", "file:///x"), Watchers::Added::kAlready);
  EXPECT_EQ(w.watch("listen:1", "file:///y"), Watchers::Added::kAdded);
  EXPECT_EQ(w.uris(), (std::vector<std::string>{"file:///x", "file:///y"}));
  EXPECT_FALSE(w.unwatch("session:a", "file:///x"));  // b still watches it
  EXPECT_TRUE(w.watched("file:///x"));
  EXPECT_FALSE(w.unwatch("session:zz", "file:///x"));  // never watched: nothing changes
  EXPECT_TRUE(w.forget("session:b"));
  EXPECT_FALSE(w.watched("file:///x"));
  EXPECT_TRUE(w.forget("listen:1"));
  EXPECT_EQ(w.size(), 0u);
  EXPECT_FALSE(w.forget("listen:1"));
}

TEST(Watchers, BoundsHoldInAllAndPerWatcher) {
  Watchers w(WatchLimits{3, 2});
  EXPECT_EQ(w.watch("a", "u1"), Watchers::Added::kAdded);
  EXPECT_EQ(w.watch("a", "u2"), Watchers::Added::kAdded);
  EXPECT_EQ(w.watch("a", "u3"), Watchers::Added::kTooMany);  // a's own bound
  EXPECT_EQ(w.watch("b", "u3"), Watchers::Added::kAdded);
  EXPECT_EQ(w.watch("c", "u4"), Watchers::Added::kTooMany);  // the union's bound
  EXPECT_EQ(w.watch("c", "u1"), Watchers::Added::kAlready);  // a watched URI costs nothing
  EXPECT_EQ(w.size(), 3u);
}

TEST(OpenListens, OnlyItsOwnAcknowledgedListenIsHeardAndOnlyForWatchedUris) {
  Watchers w;
  w.watch("session:a", "test://watched");
  OpenListens l;
  l.opened(7, 1, {"test://watched", "test://other"});
  // Nothing before the acknowledgment (spec: it comes first).
  EXPECT_EQ(l.judge(updated(7, "test://watched"), std::nullopt, w).kind, Verdict::kDrop);
  auto a = l.judge(ack(7, json::array{"test://watched"}), std::nullopt, w);
  EXPECT_EQ(a.kind, Verdict::kAcknowledged);
  EXPECT_TRUE(l.acknowledged(7));
  EXPECT_EQ(l.judge(ack(7, {}), std::nullopt, w).kind, Verdict::kDrop);  // a second one

  auto u = l.judge(updated(7, "test://watched"), std::nullopt, w);
  EXPECT_EQ(u.kind, Verdict::kResourceUpdated);
  EXPECT_EQ(u.uri, "test://watched");
  auto c = l.judge(note("notifications/prompts/list_changed", 7), std::nullopt, w);
  EXPECT_EQ(c.kind, Verdict::kListChanged);
  EXPECT_EQ(c.list, server::Kind::kPrompt);

  struct Case {
    const char* what;
    json::object msg;
    std::optional<std::int64_t> related;
  };
  const Case refused[] = {
      {"a URI the acknowledgment left out", updated(7, "test://other"), std::nullopt},
      {"a URI nobody asked for", updated(7, "test://secret"), std::nullopt},
      {"no subscriptionId", updated(nullptr, "test://watched"), std::nullopt},
      {"a subscriptionId Bastion did not open", updated(8, "test://watched"), std::nullopt},
      {"a string subscriptionId", updated("7", "test://watched"), std::nullopt},
      {"another request's stream (HTTP)", updated(7, "test://watched"), 3},
      {"an untagged list change", note("notifications/tools/list_changed", nullptr), std::nullopt},
      {"no uri", note("notifications/resources/updated", 7), std::nullopt},
  };
  for (auto& r : refused) EXPECT_EQ(l.judge(r.msg, r.related, w).kind, Verdict::kDrop) << r.what;
  // Its own stream is fine.
  EXPECT_EQ(l.judge(updated(7, "test://watched"), 7, w).kind, Verdict::kResourceUpdated);
  // Other notifications are not the judge's.
  EXPECT_EQ(l.judge(note("notifications/message", nullptr), std::nullopt, w).kind, Verdict::kOther);

  // Nobody watches it any more: dropped although the listen asked for it.
  w.forget("session:a");
  EXPECT_EQ(l.judge(updated(7, "test://watched"), std::nullopt, w).kind, Verdict::kDrop);
  // A closed listen is no longer ours.
  l.closed(7);
  EXPECT_EQ(l.judge(note("notifications/tools/list_changed", 7), std::nullopt, w).kind,
            Verdict::kDrop);
}

TEST(OpenListens, ANewerGenerationSupersedesTheOlderOnes) {
  OpenListens l;
  l.opened(1, 1, {});
  l.opened(2, 2, {"u"});
  l.opened(3, 3, {"u", "v"});
  EXPECT_EQ(l.older_than(3), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(l.generation_of(2).value_or(0), 2u);
  EXPECT_FALSE(l.generation_of(9).has_value());
  EXPECT_EQ(l.size(), 3u);
}

TEST(ListenFilter, AsksForEveryListChangeAndTheUrisWhenSubscriptionsAreOffered) {
  auto f = listen_filter({"a", "b"}, true);
  EXPECT_EQ(f.at("toolsListChanged"), true);
  EXPECT_EQ(f.at("promptsListChanged"), true);
  EXPECT_EQ(f.at("resourcesListChanged"), true);
  EXPECT_EQ(f.at("resourceSubscriptions"), (json::array{"a", "b"}));
  EXPECT_FALSE(listen_filter({"a"}, false).contains("resourceSubscriptions"));
  EXPECT_FALSE(listen_filter({}, true).contains("resourceSubscriptions"));
}

}  // namespace
}  // namespace bastion::gateway
