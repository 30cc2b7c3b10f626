// auth.login.providers: external OpenID Connect providers users may sign
// in with (federated login).
//
//   providers:
//     - name: corp                        # subjects become "corp|<sub>"
//       display_name: Corp SSO            # the button says "Sign in with Corp SSO"
//       issuer: https://login.corp.example
//       client_id: bastion
//       client_secret_file: /run/secrets/corp-oidc   # first line is the secret
//       scopes: [openid, profile, email]             # default; openid is always sent
//       groups_claim: groups                         # claim with the user's groups (default)
//       groups:                                      # claim value -> Bastion group
//         eng-team: engineering                      # (values not listed are ignored)
//       ca_file: /etc/corp-ca.pem                    # extra CA (private deployments, tests)
//
// The issuer must be https; http is accepted only for a loopback address
// (a provider on this machine: tests and development).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace bastion::login {

struct ProviderOptions {
  std::string name;
  std::string display_name;
  std::string issuer;
  std::string client_id;
  std::string client_secret;  // read from client_secret_file
  std::vector<std::string> scopes{"openid", "profile", "email"};
  std::string groups_claim = "groups";
  std::map<std::string, std::string> groups;
  std::string ca_file;
};

}  // namespace bastion::login
