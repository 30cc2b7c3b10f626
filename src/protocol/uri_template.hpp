// RFC 6570 level-1 URI templates as MCP resource templates use them
// ("test://template/{id}/data"): matching a URI and extracting the variables.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace bastion::protocol {

// Matches `uri` against `pattern`; a variable matches one or more characters
// other than '/' (and other than the literal character that follows it).
// Fills `vars` (when given) with the variables' values.
bool match_uri_template(std::string_view pattern, std::string_view uri,
                        std::map<std::string, std::string>* vars);

}  // namespace bastion::protocol
