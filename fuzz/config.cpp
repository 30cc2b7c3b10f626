// The configuration loader: YAML text into the located JSON tree
// (config::Document::parse), and the readers that turn it into options:
// the top level (app::options_from_document: listen, http, mcp, cluster,
// log), audit, auth (with auth.login and auth.access) and the PII policy, plus every typed getter
// of config::Reader on every key (durations, sizes, lists, choices). Input: a configuration file.
//
// A bad file must fail with config::ConfigError (FILE:LINE:COL: reason), or
// std::invalid_argument where a module documents it (pii); any other
// exception escapes and is reported, as are ASan/UBSan findings.
#include "config/config.hpp"

#include "app/audit_config.hpp"
#include "app/auth_config.hpp"
#include "app/options.hpp"
#include "fuzz_util.hpp"
#include "pii/policy.hpp"

namespace {

using namespace bastion;
namespace json = boost::json;

template <class F>
void config_step(F&& f) {
  try {
    f();
  } catch (const config::ConfigError&) {
  }
}

// Every getter on every key of the object at `pointer`, and the same below.
void walk(const config::Document& doc, const std::string& pointer, int depth) {
  if (depth > 8) return;
  std::vector<std::string> keys;
  config_step([&] { keys = config::Reader(doc, pointer).keys(); });
  for (const auto& k : keys) {
    config_step([&] { config::Reader(doc, pointer).str(k, ""); });
    config_step([&] { config::Reader(doc, pointer).integer(k, 0, -5, 1 << 20); });
    config_step([&] { config::Reader(doc, pointer).number(k, 0, -1, 1); });
    config_step([&] { config::Reader(doc, pointer).boolean(k, false); });
    config_step([&] { config::Reader(doc, pointer).duration(k, std::chrono::seconds(1)); });
    config_step([&] { config::Reader(doc, pointer).bytes(k, 1); });
    config_step([&] { config::Reader(doc, pointer).str_list(k); });
    config_step([&] { config::Reader(doc, pointer).choice(k, "a", {"a", "b"}); });
    config_step([&] { config::Reader(doc, pointer).words(k); });
    config_step([&] {
      for (auto& e : config::Reader(doc, pointer).list(k)) e.finish();
    });
    config_step([&] {
      config::Reader r(doc, pointer);
      auto child = r.child(k);
      if (child.present()) walk(doc, child.pointer(), depth + 1);
    });
  }
  config_step([&] { config::Reader(doc, pointer).finish(); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  if (auto d = config::parse_duration(text)) FUZZ_CHECK(d->count() >= 0);
  config::parse_bytes(text);

  std::shared_ptr<const config::Document> doc;
  config_step([&] {
    doc = std::make_shared<const config::Document>(config::Document::parse(text, "fuzz.yaml"));
  });
  if (!doc) return 0;
  FUZZ_CHECK(doc->root().is_object());
  walk(*doc, "", 0);
  config_step([&] { app::options_from_document(doc, "/etc/bastion/fuzz.yaml", {}); });
  config_step([&] { app::read_audit_options(*doc, "/var/lib/bastion"); });
  config_step([&] { app::read_auth_section(*doc, "/var/lib/bastion"); });
  const auto& root = doc->root().get_object();
  if (auto* s = root.if_contains("security"); s && s->is_object())
    if (auto* p = s->get_object().if_contains("pii"); p && p->is_object()) {
      try {
        pii::policy_options_from_json(p->get_object());
      } catch (const std::invalid_argument&) {
      }
    }
  return 0;
}
