#include "console/options.hpp"

#include <gtest/gtest.h>

namespace bastion::console {
namespace {

ConsoleOptions parse(const std::string& yaml) {
  return read_console_options(config::Document::parse(yaml, "t.yaml"));
}

TEST(ConsoleOptions, OffWithoutSectionOnWithIt) {
  EXPECT_FALSE(parse("log: {level: info}\n").enabled);
  auto o = parse("console: {}\n");
  EXPECT_TRUE(o.enabled);
  EXPECT_EQ(o.path, "/console");
  EXPECT_FALSE(parse("console: {enabled: false}\n").enabled);
}

TEST(ConsoleOptions, BadValuesNameFileLineColumn) {
  struct Case {
    const char* yaml;
    const char* where;
  } cases[] = {
      {"console:\n  path: /mcp\n", "t.yaml:2:"},
      {"console:\n  path: /console/\n", "t.yaml:2:"},
      {"console:\n  path: /a/../b\n", "t.yaml:2:"},
      {"console:\n  path: relative\n", "t.yaml:2:"},
      {"console:\n  enabled: maybe\n", "t.yaml:2:"},
      {"console:\n  admins: {users: alice}\n", "t.yaml:2:"},
      {"console:\n  admins: {user: [alice]}\n", "t.yaml"},
      {"console:\n  colour: red\n", "t.yaml"},
  };
  for (const auto& c : cases) {
    try {
      parse(c.yaml);
      ADD_FAILURE() << "accepted: " << c.yaml;
    } catch (const config::ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(c.where, 0), 0u) << e.what();
    }
  }
}

TEST(ConsoleRoles, AdminViewerNone) {
  auto o = parse(
      "console:\n  admins: {users: [alice], groups: [ops]}\n"
      "  viewers: {users: [bob], groups: [eng]}\n");
  EXPECT_EQ(role_of(o, "alice", {}), Role::kAdmin);
  EXPECT_EQ(role_of(o, "carol", {"ops"}), Role::kAdmin);
  EXPECT_EQ(role_of(o, "bob", {}), Role::kViewer);
  EXPECT_EQ(role_of(o, "dave", {"eng"}), Role::kViewer);
  EXPECT_EQ(role_of(o, "bob", {"ops"}), Role::kAdmin);  // the stronger role wins
  EXPECT_EQ(role_of(o, "eve", {"other"}), Role::kNone);
  EXPECT_EQ(role_of(o, "", {"ops"}), Role::kNone);
  EXPECT_EQ(role_of(o, "Alice", {}), Role::kNone);  // case-sensitive, like user names
}

TEST(ConsoleRoles, EmptyListsLetNobodyIn) {
  auto o = parse("console: {}\n");
  EXPECT_EQ(role_of(o, "alice", {"admins"}), Role::kNone);
}

}  // namespace
}  // namespace bastion::console
