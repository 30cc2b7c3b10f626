// MCP protocol versions Bastion speaks and how it negotiates among them, and
// Bastion's own version.
#pragma once

#include <array>
#include <string_view>

namespace bastion::protocol {

inline constexpr std::string_view kLatestVersion = "2025-11-25";
inline constexpr std::array<std::string_view, 3> kSupportedVersions = {"2025-11-25", "2025-06-18",
                                                                       "2025-03-26"};
// Assumed by Streamable HTTP when a request carries no MCP-Protocol-Version.
inline constexpr std::string_view kDefaultHttpVersion = "2025-03-26";

// Bastion's own version ("0.1.0"), from CMake's project(VERSION): what
// --version prints, serverInfo and the gateway's clientInfo carry.
std::string_view bastion_version();
// "bastion/0.1.0": the User-Agent of every HTTP request Bastion makes.
std::string_view user_agent();

bool is_supported_version(std::string_view v);

// The version to answer an initialize with: the client's if we support it,
// otherwise our latest (the client then decides whether to disconnect). The
// result views static storage and stays valid for the program's lifetime.
std::string_view negotiate_version(std::string_view requested);

// Feature switches that differ between versions.
inline bool allows_batches(std::string_view v) { return v == "2025-03-26"; }

}  // namespace bastion::protocol
