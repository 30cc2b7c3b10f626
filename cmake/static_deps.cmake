# BASTION_STATIC_DEPS=ON (the default): the C++ libraries and the small C ones
# are linked into the binaries from the static archives Debian's -dev packages
# ship, and `bastion` itself gets libstdc++ and libgcc linked in too. With 16
# shared libraries the dynamic loader's symbol lookups and relocations were
# most of every start: `bastion --version` took ~5.8 ms of CPU, ~2.9 ms with
# them linked in, and every command and every `bastion stdio` a desktop client
# launches pays it (bench/results/pii.md, "The start of every command").
# glibc and OpenSSL (libssl, libcrypto) stay shared so Debian's security
# updates reach them without a rebuild; a fix in a library linked in needs one
# (docs/operations.md, "Libraries").
#
# Included after the find_package/pkg_check_modules calls of the top-level
# CMakeLists.txt, which skips fmt, spdlog and yaml-cpp's own packages when this
# is on (their config files define only shared targets under the names the
# modules link): the same target names are defined here.

# fmt and spdlog: header-only (Debian ships no static archive of either).
# spdlog formats with the system's fmt (SPDLOG_FMT_EXTERNAL), as the shared
# package does.
find_file(BASTION_FMT_HEADER fmt/format.h REQUIRED)
find_file(BASTION_SPDLOG_HEADER spdlog/spdlog.h REQUIRED)
add_library(fmt::fmt INTERFACE IMPORTED)
set_target_properties(fmt::fmt PROPERTIES INTERFACE_COMPILE_DEFINITIONS FMT_HEADER_ONLY=1)
add_library(spdlog::spdlog INTERFACE IMPORTED)
set_target_properties(spdlog::spdlog PROPERTIES
  INTERFACE_COMPILE_DEFINITIONS SPDLOG_FMT_EXTERNAL
  INTERFACE_LINK_LIBRARIES "fmt::fmt;Threads::Threads")

# yaml-cpp: its archive, under the target name its package defines.
find_file(BASTION_YAML_CPP_HEADER yaml-cpp/yaml.h REQUIRED)
find_library(BASTION_YAML_CPP_ARCHIVE NAMES libyaml-cpp.a REQUIRED)
add_library(yaml-cpp STATIC IMPORTED)
set_target_properties(yaml-cpp PROPERTIES IMPORTED_LOCATION ${BASTION_YAML_CPP_ARCHIVE})

# A pkg-config target (PkgConfig::<prefix>) relinked to the package's own
# archives (lib<name>.a for each library its `Libs:` names) followed by what
# `Libs.private:` adds (system libraries: -lpthread, -lm), which stay as they
# are. The archives get cache entries of their own: pkg_check_modules caches
# the .so it found, so a build directory configured without this would keep it.
function(bastion_static_pkg prefix)
  set(libs "")
  foreach(name IN LISTS ${prefix}_LIBRARIES)
    find_library(BASTION_ARCHIVE_${name} NAMES lib${name}.a
                 HINTS ${${prefix}_LIBRARY_DIRS} REQUIRED)
    list(APPEND libs ${BASTION_ARCHIVE_${name}})
  endforeach()
  foreach(name IN LISTS ${prefix}_STATIC_LIBRARIES)
    if(NOT name IN_LIST ${prefix}_LIBRARIES)
      list(APPEND libs ${name})
    endif()
  endforeach()
  set_property(TARGET PkgConfig::${prefix} PROPERTY INTERFACE_LINK_LIBRARIES "${libs}")
  set_property(TARGET PkgConfig::${prefix} APPEND PROPERTY
               INTERFACE_LINK_OPTIONS ${${prefix}_STATIC_LDFLAGS_OTHER})
endfunction()

foreach(prefix HS ICU SODIUM SECCOMP)
  bastion_static_pkg(${prefix})
endforeach()
