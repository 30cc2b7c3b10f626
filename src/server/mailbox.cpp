#include "server/mailbox.hpp"

namespace bastion::server {

// Compiled once here; every other file sees the extern declaration.
template class BasicMailbox<boost::json::object>;

}  // namespace bastion::server
