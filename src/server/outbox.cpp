#include "server/outbox.hpp"

namespace bastion::server {

// Compiled once here; every other file sees the extern declaration.
template class BasicMailbox<Outgoing>;

}  // namespace bastion::server
