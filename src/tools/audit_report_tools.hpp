// The seed demo's remaining security tools as built-in MCP tools, backed by
// the real key ring and audit log:
//   test_encryption            Fernet round trip with the live key ring (or decrypt a token)
//   get_security_audit_log     the audit records, filtered and paginated (PII-free by design)
//   generate_security_report   counts from the real audit log and its verification status
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "security/fernet.hpp"
#include "server/builtin_tool.hpp"

namespace bastion::tools {

server::SyncTool make_test_encryption_tool(std::shared_ptr<const security::MultiFernet> keys);
server::SyncTool make_get_security_audit_log_tool(std::filesystem::path audit_dir);
// `public_key_b64`: the running log's key, pinned for the integrity check.
server::SyncTool make_generate_security_report_tool(std::filesystem::path audit_dir,
                                                    std::string public_key_b64);

}  // namespace bastion::tools
