// The `audit` section of the configuration, read once into
// audit::AuditOptions for the running log and for `bastion doctor`.
#pragma once

#include <filesystem>
#include <optional>

#include "audit/log.hpp"
#include "config/config.hpp"

namespace bastion::app {

// nullopt when `audit.enabled: false`. Throws config::ConfigError naming the
// line of a bad value.
std::optional<audit::AuditOptions> read_audit_options(const config::Document& doc,
                                                      const std::filesystem::path& data_dir);

}  // namespace bastion::app
