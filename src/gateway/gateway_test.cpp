#include "gateway/gateway.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "config/config.hpp"
#include "gateway/options.hpp"

namespace bastion::gateway {
namespace {

TEST(ExposedName, PrefixesWithDoubleUnderscore) {
  EXPECT_EQ(exposed_name("weather", "get_forecast"), "weather__get_forecast");
  EXPECT_EQ(exposed_name("", "test_simple_text"), "test_simple_text");
}

TEST(ExposedName, LongNamesAreShortenedDeterministicallyTo64) {
  std::string tool(80, 'a');
  std::string a = exposed_name("server", tool);
  EXPECT_EQ(a.size(), kMaxToolName);
  EXPECT_EQ(a, exposed_name("server", tool));  // stable across calls and restarts
  EXPECT_NE(a, exposed_name("server", tool + "b"));
  EXPECT_EQ(a.substr(0, 8), "server__");
  std::string exact(64 - 8, 'x');
  EXPECT_EQ(exposed_name("server", exact).size(), 64u);
  EXPECT_EQ(exposed_name("server", exact), "server__" + exact);  // fits: untouched
}

std::vector<UpstreamOptions> parse(const std::string& yaml,
                                   const std::string& name = "/etc/bastion/b.yaml") {
  return read_upstreams(config::Document::parse(yaml, name));
}

std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(UpstreamConfig, ReadsServersAndTheClaudeFormat) {
  auto ups = parse(R"(
servers:
  weather:
    command: python3
    args: ["${CONFIG_DIR}/w.py", "--x"]
    runtime: process
    prefix: wx
    env: {A: "1"}
    start: eager
    timeouts: {call: 5s}
    limits: {memory: 64MiB, pids: 10}
    paths: {read_only: ["${CONFIG_DIR}/data"]}
mcpServers:
  memory: {command: node, args: [m.js], env: {K: v}}
)");
  ASSERT_EQ(ups.size(), 2u);
  EXPECT_EQ(ups[0].name, "weather");
  EXPECT_EQ(ups[0].prefix, "wx");
  EXPECT_EQ(ups[0].command, (std::vector<std::string>{"python3", "/etc/bastion/w.py", "--x"}));
  EXPECT_EQ(ups[0].sandbox.runtime, sandbox::RuntimeKind::kProcess);
  EXPECT_EQ(ups[0].sandbox.read_only, (std::vector<std::string>{"/etc/bastion/data"}));
  EXPECT_EQ(ups[0].sandbox.limits.memory_bytes, 64u << 20);
  EXPECT_EQ(ups[0].sandbox.limits.max_pids, 10u);
  EXPECT_TRUE(ups[0].eager);
  EXPECT_EQ(ups[0].call_timeout.count(), 5000);
  EXPECT_EQ(ups[0].env.at("A"), "1");
  EXPECT_EQ(ups[1].name, "memory");
  EXPECT_EQ(ups[1].prefix, "memory");
  EXPECT_EQ(ups[1].command, (std::vector<std::string>{"node", "m.js"}));
}

TEST(UpstreamConfig, ReadsAnMcpServersFile) {
  std::string path = ::testing::TempDir() + "/mcp.json";
  std::ofstream(path)
      << R"({"mcpServers": {"ctx7": {"command": "npx", "args": ["-y", "@upstash/context7-mcp"]}}})";
  auto ups = parse("mcp_servers_file: " + path + "\n");
  ASSERT_EQ(ups.size(), 1u);
  EXPECT_EQ(ups[0].command.front(), "npx");
}

TEST(UpstreamConfig, RejectsBadEntriesWithTheirLine) {
  EXPECT_NE(error_of("servers:\n  a:\n    args: [x]\n").find("needs `command`"), std::string::npos);
  EXPECT_NE(error_of("servers:\n  a:\n    command: x\n    runtime: vm\n").find("b.yaml:4:"),
            std::string::npos);
  EXPECT_NE(
      error_of("servers:\n  a:\n    command: x\n    comand: y\n").find("unknown key 'comand'"),
      std::string::npos);
  EXPECT_NE(error_of("servers:\n  a:\n    command: x\nmcpServers:\n  a: {command: y}\n")
                .find("already defined"),
            std::string::npos);
  EXPECT_NE(error_of("servers:\n  'bad name':\n    command: x\n").find("server names"),
            std::string::npos);
  EXPECT_NE(error_of("servers:\n  a:\n    command: x\n    paths: {read_only: [relative]}\n")
                .find("absolute"),
            std::string::npos);
  EXPECT_NE(error_of("servers:\n  a:\n    command: x\n    runtime: docker\n").find("docker.image"),
            std::string::npos);
}

}  // namespace
}  // namespace bastion::gateway
