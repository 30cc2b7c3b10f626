// `bastion doctor`: checks this machine and a configuration, and says what to
// fix. Each check is pass, warn or fail with a one-line remedy.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/options.hpp"

namespace bastion::app {

struct Check {
  std::string name;
  enum Status { kPass, kWarn, kFail } status = kPass;
  std::string detail;  // what was found, and the fix when not kPass
};

std::vector<Check> run_doctor(const std::optional<std::string>& config_path,
                              const Overrides& ov = {});
// Prints the checks; returns 1 when any failed, else 0.
int print_doctor(const std::vector<Check>& checks);

}  // namespace bastion::app
