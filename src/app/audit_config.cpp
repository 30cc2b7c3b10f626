#include "app/audit_config.hpp"

#include "audit/key.hpp"

namespace bastion::app {

std::optional<audit::AuditOptions> read_audit_options(const config::Document& doc,
                                                      const std::filesystem::path& data_dir) {
  config::Reader ar(doc, "/audit");
  if (!ar.boolean("enabled", true)) {
    ar.finish();
    return std::nullopt;
  }
  audit::AuditOptions ao;
  ao.dir = ar.str("dir", "");
  if (ao.dir.empty()) ao.dir = data_dir / "audit";
  auto sync = ar.choice("sync", "interval", {"always", "interval", "never"});
  ao.sync = sync == "always"     ? audit::AuditOptions::Sync::kAlways
            : sync == "interval" ? audit::AuditOptions::Sync::kInterval
                                 : audit::AuditOptions::Sync::kNever;
  ao.sync_interval = ar.duration("sync_interval", ao.sync_interval);
  ao.sign_interval = ar.duration("sign_interval", ao.sign_interval);
  if (ao.sign_interval.count() < 10 || ao.sign_interval > std::chrono::minutes(1))
    ar.fail("sign_interval", "must be between 10ms and 1m (the window of unsigned records)");
  ao.checkpoint_every = static_cast<std::uint64_t>(
      ar.integer("checkpoint_every", static_cast<std::int64_t>(ao.checkpoint_every), 1, 1 << 30));
  ao.checkpoint_interval = ar.duration("checkpoint_interval", ao.checkpoint_interval);
  ao.max_file_bytes = ar.bytes("max_file_size", ao.max_file_bytes);
  if (ao.max_file_bytes < 4096) ar.fail("max_file_size", "must be at least 4KiB");
  auto& rt = ao.retention;
  rt.keep_files = static_cast<std::size_t>(ar.integer("keep_files", 0, 0, 1 << 20));
  rt.max_total_bytes = ar.bytes("max_total_size", rt.max_total_bytes);
  if (rt.max_total_bytes != 0 && rt.max_total_bytes < 2 * ao.max_file_bytes)
    ar.fail("max_total_size", "must be 0 (no limit) or at least twice max_file_size");
  rt.max_age = std::chrono::duration_cast<std::chrono::seconds>(
      ar.duration("max_age", std::chrono::duration_cast<std::chrono::milliseconds>(rt.max_age)));
  ao.reserve_bytes = ar.bytes("reserve_size", ao.reserve_bytes);
  if (ao.reserve_bytes != 0 && ao.reserve_bytes < 16384)
    ar.fail("reserve_size", "must be 0 (none) or at least 16KiB");
  ao.key_fingerprint = ar.str("key_fingerprint", "");
  if (!ao.key_fingerprint.empty()) {
    auto fp = audit::parse_fingerprint(ao.key_fingerprint);
    if (!fp)
      ar.fail("key_fingerprint",
              "must be an audit key fingerprint such as SHA256:<43 base64 characters>");
    ao.key_fingerprint = *fp;
  }
  ar.finish();
  return ao;
}

}  // namespace bastion::app
