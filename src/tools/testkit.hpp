// The testkit: an MCP server inside bastion implementing the fixtures the
// official conformance suite (@modelcontextprotocol/conformance) calls by
// name, plus `echo` for benchmarks. Enabled by `--testkit` or
// `testkit: {enabled: true}`; off by default, never for production.
#pragma once

#include <memory>

#include "server/builtin_backend.hpp"

namespace bastion::tools {

std::shared_ptr<server::BuiltinBackend> make_testkit();
// The resources, template and prompts (testkit_resources.cpp), part of make_testkit().
void add_resource_fixtures(server::BuiltinBackend& b);
void add_prompt_fixtures(server::BuiltinBackend& b);
// The 2026-07-28 fixtures (testkit_modern.cpp), part of make_testkit().
void add_modern_fixtures(server::BuiltinBackend& b);
// The tasks extension's fixtures (testkit_tasks.cpp), part of make_testkit().
void add_task_fixtures(server::BuiltinBackend& b);

// Fixture payloads, shared with tests.
extern const char* const kTestPngBase64;
extern const char* const kTestWavBase64;

}  // namespace bastion::tools
