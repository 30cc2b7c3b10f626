#include "console/assets.hpp"

namespace bastion::console {

namespace www {
extern const std::string_view kHtml;
extern const std::string_view kCss;
extern const std::string_view kJs;
}  // namespace www

std::optional<Asset> asset(std::string_view name) {
  if (name == "console.css") return Asset{"text/css; charset=utf-8", www::kCss};
  if (name == "console.js") return Asset{"text/javascript; charset=utf-8", www::kJs};
  return std::nullopt;
}

std::string_view shell_html() { return www::kHtml; }

}  // namespace bastion::console
