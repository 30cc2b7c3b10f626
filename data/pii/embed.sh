#!/bin/sh
# Regenerates src/pii/patterns_default.cpp from data/pii/default.json
# (the scanner embeds its defaults; pii scanner_test checks the two match).
set -e
cd "$(dirname "$0")/../.."
{
  echo '// Generated from data/pii/default.json by data/pii/embed.sh; do not edit.'
  echo '#include <string_view>'
  echo
  echo 'namespace bastion::pii {'
  echo 'extern const std::string_view kDefaultPiiPatternsJson;'
  printf 'const std::string_view kDefaultPiiPatternsJson = R"json('
  cat data/pii/default.json
  echo ')json";'
  echo '}  // namespace bastion::pii'
} > src/pii/patterns_default.cpp
