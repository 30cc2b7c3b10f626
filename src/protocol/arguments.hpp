// Tool argument checks against the top level of a tool's inputSchema (JSON
// Schema): required properties and primitive types. Deeper validation is the
// tool's own business.
#pragma once

#include <boost/json.hpp>
#include <string>

namespace bastion::protocol {

// Returns an error message naming the first bad argument, or empty.
std::string check_arguments(const boost::json::object& schema, const boost::json::object& args);

}  // namespace bastion::protocol
