#include "gateway/gateway.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "config/config.hpp"
#include "gateway/options.hpp"

namespace bastion::gateway {
namespace {

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

// secrets: become a stdio server's environment; an HTTP server has none, so
// they would be decrypted for nothing while the operator believes they are
// sent: refused at load, pointing at headers.
TEST(UpstreamConfig, SecretsOnAnHttpServerAreRefused) {
  std::string e =
      error_of("servers:\n  r:\n    url: http://127.0.0.1:1/mcp\n    secrets: {API_KEY: r-key}\n");
  EXPECT_NE(e.find("b.yaml:4:"), std::string::npos) << e;
  for (const char* says : {"secrets", "headers:", "${env:"})
    EXPECT_NE(e.find(says), std::string::npos) << says << " not in: " << e;
  std::string env =
      error_of("servers:\n  r:\n    url: http://127.0.0.1:1/mcp\n    env: {API_KEY: k}\n");
  EXPECT_NE(env.find("b.yaml:4:"), std::string::npos) << env;
  EXPECT_NE(env.find("no environment"), std::string::npos) << env;
  EXPECT_EQ(error_of("servers:\n  s:\n    command: x\n    runtime: process\n"
                     "    secrets: {API_KEY: s-key}\n"),
            "");
}

// What an HTTP server's configuration holds that the secret scrubber must
// know: header values (and the credential after their scheme), the URL's
// userinfo and query.
TEST(UpstreamConfig, HttpCredentialsAreWhatTheScrubberMustKnow) {
  auto ups = parse(R"(
servers:
  r:
    url: "http://bob:pw-hunter2@127.0.0.1:1/mcp?api_key=sk-q1w2e3r4&format=json"
    headers: {Authorization: "Bearer sk-header-9z8y7x", X-Tenant: acme-corp,
              Accept: application/json, user-agent: "probe 2.0", X-Short: "Tag v1"}
  s:
    command: x
    runtime: process
    env: {TOKEN: not-an-http-credential}
)");
  ASSERT_EQ(ups.size(), 2u);
  auto c = http_credentials(ups[0]);
  auto has = [&](std::string_view v) { return std::find(c.begin(), c.end(), v) != c.end(); };
  for (const char* want :
       {"Bearer sk-header-9z8y7x", "sk-header-9z8y7x", "acme-corp", "bob:pw-hunter2", "pw-hunter2",
        "api_key=sk-q1w2e3r4&format=json", "sk-q1w2e3r4"})
    EXPECT_TRUE(has(want)) << want;
  EXPECT_FALSE(has("json"));  // a short query value would scrub ordinary text
  // Content headers say nothing of who sends; a short word after a scheme is
  // ordinary text: scrubbed, they would take it out of every result.
  for (const char* not_secret : {"application/json", "probe 2.0", "2.0", "v1"})
    EXPECT_FALSE(has(not_secret)) << not_secret;
  EXPECT_TRUE(has("Tag v1"));
  EXPECT_TRUE(http_credentials(ups[1]).empty());
}

TEST(UpstreamConfig, WithoutBwrapAServerNamingNoRuntimeIsRefusedNotRunUnconfined) {
  // A host where bubblewrap does not work (not installed, user namespaces
  // blocked): a server that chose no runtime must not quietly run as a
  // plain process.
  auto read = [](const std::string& yaml, bool bwrap) {
    return read_upstreams(config::Document::parse(yaml, "/etc/bastion/b.yaml"), {},
                          [bwrap] { return bwrap; });
  };
  auto refused = [&](const std::string& yaml) -> std::string {
    try {
      auto ups = read(yaml, false);
      return ups.empty() ? "no server" : std::string(sandbox::to_string(ups[0].sandbox.runtime));
    } catch (const config::ConfigError& e) {
      return e.what();
    }
  };
  for (const char* yaml :
       {"servers:\n  a:\n    command: x\n", "mcpServers:\n  a: {command: x}\n"}) {
    std::string e = refused(yaml);
    EXPECT_NE(e.find("b.yaml:"), std::string::npos) << e;
    for (const char* fix : {"bubblewrap", "runtime:", "gateway.default_runtime"})
      EXPECT_NE(e.find(fix), std::string::npos) << fix << " not in: " << e;
  }
  // Chosen explicitly, for all servers or for one: as chosen.
  auto ups = read(
      "gateway: {default_runtime: process}\nservers:\n  a:\n    command: x\nmcpServers:\n  b: "
      "{command: y}\n",
      false);
  ASSERT_EQ(ups.size(), 2u);
  for (const auto& u : ups) EXPECT_EQ(u.sandbox.runtime, sandbox::RuntimeKind::kProcess) << u.name;
  ups = read(
      "servers:\n  a:\n    command: x\n    runtime: process\n  r:\n    url: "
      "http://127.0.0.1:1/mcp\n",
      false);
  ASSERT_EQ(ups.size(), 2u);
  EXPECT_EQ(ups[0].sandbox.runtime, sandbox::RuntimeKind::kProcess);
  // Where bwrap works, a server that names no runtime gets it.
  ups = read("servers:\n  a:\n    command: x\n", true);
  ASSERT_EQ(ups.size(), 1u);
  EXPECT_EQ(ups[0].sandbox.runtime, sandbox::RuntimeKind::kBwrap);
}

TEST(UpstreamConfig, PrefixesCannotOverlap) {
  // Each case: the servers' YAML and the error, or "" when accepted.
  const std::pair<const char*, const char*> cases[] = {
      {"  a: {command: x}\n  b: {command: x}\n", ""},
      {"  a: {command: x, prefix: \"\"}\n  b: {command: x}\n", ""},
      {"  a: {command: x, prefix: \"\"}\n  b: {command: x, prefix: \"\"}\n",
       "only one server may expose its names without a prefix"},
      {"  a: {command: x, prefix: p}\n  b: {command: x, prefix: p}\n", "each server needs its own"},
      {"  a: {command: x}\n  b: {command: x, prefix: a}\n", "each server needs its own"},
      {"  a: {command: x}\n  b: {command: x, prefix: a__b}\n", "lies in server 'a''s namespace"},
      {"  b: {command: x, prefix: a__b}\n  a: {command: x}\n", "lies in server 'a''s namespace"},
      {"  a: {command: x}\n  b: {command: x, prefix: a___}\n", "must not end with '_'"},
      {"  a: {command: x}\n  b: {command: x, prefix: a_b}\n", ""},
      {"  a: {command: x}\n  b: {command: x, prefix: a-_b}\n", ""},
      {"  weather: {command: x}\n  weather_eu: {command: x}\n", ""},
      {"  a: {command: x, prefix: pppppppppppppppppppppppppppppppppppppppppp}\n",
       "at most 40 characters"},
      {"  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: {command: x}\n",
       "the server's name is its prefix"},
      {"  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: {command: x, prefix: short}\n", ""},
  };
  for (const auto& [yaml, want] : cases) {
    std::string got = error_of(std::string("servers:\n") + yaml);
    if (std::string(want).empty())
      EXPECT_EQ(got, "") << yaml;
    else
      EXPECT_NE(got.find(want), std::string::npos) << yaml << " -> " << got;
  }
  // The error names the file and line of the offending prefix.
  EXPECT_NE(error_of("servers:\n  a:\n    command: x\n  b:\n    command: x\n    prefix: a\n")
                .find("b.yaml:6:"),
            std::string::npos);
}

TEST(UpstreamConfig, RelaySettings) {
  auto ups = parse(
      "servers:\n  a:\n    command: x\n    relay: {sampling: false, roots: false}\n  b: {command: "
      "x}\n");
  EXPECT_FALSE(ups[0].relay.sampling);
  EXPECT_TRUE(ups[0].relay.elicitation);
  EXPECT_FALSE(ups[0].relay.roots);
  EXPECT_TRUE(ups[1].relay.sampling && ups[1].relay.elicitation && ups[1].relay.roots);
  EXPECT_NE(error_of("servers:\n  a:\n    command: x\n    relay: {smapling: false}\n")
                .find("unknown key 'smapling'"),
            std::string::npos);
  EXPECT_NE(error_of("servers:\n  a:\n    command: x\n    relay: {sampling: maybe}\n"), "");
}

TEST(UpstreamConfig, CatalogueLimits) {
  auto ups = parse(
      "servers:\n  a:\n    command: x\n    catalogue: {max_description: 4KiB, "
      "max_schema: 1MiB}\n  b: {command: x}\n");
  EXPECT_EQ(ups[0].catalogue.max_description, 4096u);
  EXPECT_EQ(ups[0].catalogue.max_schema, 1u << 20);
  EXPECT_EQ(ups[1].catalogue.max_description, 64u * 1024);
  EXPECT_EQ(ups[1].catalogue.max_schema, 256u * 1024);
  EXPECT_NE(error_of("servers:\n  a:\n    command: x\n    catalogue: {max_description: 10}\n")
                .find("between"),
            std::string::npos);
  EXPECT_NE(error_of("servers:\n  a:\n    command: x\n    catalogue: {max_sceham: 1MiB}\n")
                .find("unknown key"),
            std::string::npos);
}

TEST(UpstreamConfig, PinningAndLint) {
  auto ups = parse(
      "servers:\n  a:\n    command: x\n    pinning: warn\n    lint: block\n  b: {command: x}\n"
      "mcpServers:\n  c: {command: x}\n");
  EXPECT_EQ(ups[0].pinning, PinMode::kWarn);
  EXPECT_EQ(ups[0].lint, LintMode::kBlock);
  // Safe defaults, for the Cursor/Claude format too.
  for (std::size_t i : {1u, 2u}) {
    EXPECT_EQ(ups[i].pinning, PinMode::kEnforce);
    EXPECT_EQ(ups[i].lint, LintMode::kWarn);
  }
  auto bad = error_of("servers:\n  a:\n    command: x\n    pinning: maybe\n");
  EXPECT_NE(bad.find("b.yaml:4:"), std::string::npos) << bad;
  EXPECT_NE(bad.find("enforce"), std::string::npos) << bad;
  EXPECT_NE(error_of("servers:\n  a:\n    command: x\n    lint: strict\n"), "");
}

}  // namespace
}  // namespace bastion::gateway
