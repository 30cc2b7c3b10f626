// What no upstream server may see: every secret file the configuration names.
#include "app/options.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "sandbox/binds.hpp"
#include "storage/temp_dir.hpp"

namespace bastion::app {
namespace {

TEST(ProtectedPaths, AServerGrantedASecretFilesDirectoryIsRefused) {
  storage::TempDir tmp;
  const auto dir = tmp.path().string();
  std::filesystem::create_directories(tmp.path() / "idp");
  std::filesystem::create_directories(tmp.path() / "hashes");
  std::filesystem::create_directories(tmp.path() / "reg");
  for (const char* f : {"idp/oidc-secret", "hashes/client", "reg/iat"})
    std::ofstream(tmp.path() / f) << "s3cret\n";
  const std::string yaml = "data_dir: " + dir + "/data\n" +
                           "auth:\n"
                           "  clients: [{id: c, secret_hash_file: " +
                           dir +
                           "/hashes/client}]\n"
                           "  registration: {initial_access_token_file: " +
                           dir +
                           "/reg/iat}\n"
                           "  login:\n"
                           "    providers:\n"
                           "      - {name: corp, issuer: https://idp.example, client_id: c,\n"
                           "         client_secret_file: " +
                           dir + "/idp/oidc-secret}\n";
  auto doc = std::make_shared<const config::Document>(
      config::Document::parse(yaml, dir + "/bastion.yaml"));
  auto paths = protected_paths(options_from_document(doc, dir + "/bastion.yaml", {}));
  for (const char* f : {"idp/oidc-secret", "hashes/client", "reg/iat"}) {
    const auto file = (tmp.path() / f).string();
    EXPECT_NE(std::find(paths.begin(), paths.end(), file), paths.end()) << file;
    // A server granted the file's directory (or the file) does not start:
    // the bind is refused, naming the file.
    for (const auto& grant : {(tmp.path() / f).parent_path().string(), file}) {
      auto binds = sandbox::plan_binds({}, {grant}, {}, sandbox::BindPolicy{paths, {}});
      ASSERT_FALSE(binds.ok()) << grant << " is bound although it exposes " << file;
      EXPECT_NE(binds.reason().find(file), std::string::npos) << binds.reason();
    }
  }
}

}  // namespace
}  // namespace bastion::app
