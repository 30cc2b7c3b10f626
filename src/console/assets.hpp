// The console's front end, compiled in (no external asset, no CDN): one HTML
// shell for every page, one stylesheet, one script. Looked up by exact name,
// so no request path ever reaches a file system.
#pragma once

#include <optional>
#include <string_view>

namespace bastion::console {

struct Asset {
  std::string_view content_type;
  std::string_view body;
};

// "console.css", "console.js"; nullopt for any other name.
std::optional<Asset> asset(std::string_view name);

// The HTML shell; "{{PATH}}" stands for the console's path, "{{PAGE}}" for the page name.
std::string_view shell_html();

}  // namespace bastion::console
