// Reads the upstream servers from the configuration: Bastion's own `servers:`
// section, and the `mcpServers` map that Cursor and Claude Desktop use
// (inline, or from the file named by `mcp_servers_file`).
#pragma once

#include <vector>

#include "config/config.hpp"
#include "gateway/upstream.hpp"

namespace bastion::gateway {

// Throws config::ConfigError with file, line and reason. `protected_paths`
// (data_dir, secret files, the configuration files) are never visible to a
// sandboxed server.
std::vector<UpstreamOptions> read_upstreams(const config::Document& doc,
                                            const std::vector<std::string>& protected_paths = {});
// `gateway.max_processes`: upstream instances running at once (default 256).
std::size_t read_max_processes(const config::Document& doc);

}  // namespace bastion::gateway
