// Reads the upstream servers from the configuration: Bastion's own `servers:`
// section, and the `mcpServers` map that Cursor and Claude Desktop use
// (inline, or from the file named by `mcp_servers_file`).
#pragma once

#include <functional>
#include <vector>

#include "config/config.hpp"
#include "gateway/era_bridge.hpp"
#include "gateway/upstream.hpp"
#include "sandbox/launch.hpp"

namespace bastion::gateway {

// Throws config::ConfigError with file, line and reason. `protected_paths`
// (data_dir, secret files, the configuration files) are never visible to a
// sandboxed server. A stdio server that names no runtime, with no
// `gateway.default_runtime`, runs under bwrap, and is refused when
// `bwrap_works()` says bwrap does not work here (asked only then).
std::vector<UpstreamOptions> read_upstreams(
    const config::Document& doc, const std::vector<std::string>& protected_paths = {},
    const std::function<bool()>& bwrap_works = sandbox::bwrap_available);
// `gateway.max_processes`: upstream instances running at once (default 256).
std::size_t read_max_processes(const config::Document& doc);
// `gateway.input_requests`: how long a Modern client's call may wait for its
// input while a Legacy server waits (`wait`, default 2m), and how many may
// wait at once (`max_waiting`, 1024; `max_waiting_per_client`, 64).
EraBridgeOptions read_era_bridge(const config::Document& doc);

// What an HTTP server's configuration holds that may be a credential, for the
// secret scrubber (security/redact.hpp): every `headers:` value but those of
// the standard content headers (Accept, Accept-Encoding, Accept-Language,
// Cache-Control, Content-Type, User-Agent), and the credential after an auth
// scheme from kMinCredentialBytes bytes ("Bearer sk-..." gives "sk-..." too); the
// URL's userinfo and query (protocol::url_credentials; a single query value
// only from kMinCredentialBytes bytes, so "?format=json" does not make "json" a
// secret). Empty for a stdio server.
std::vector<std::string> http_credentials(const UpstreamOptions& o);
// The shortest header part or query value taken for a credential: shorter
// ones are words ordinary text holds.
inline constexpr std::size_t kMinCredentialBytes = 8;

}  // namespace bastion::gateway
