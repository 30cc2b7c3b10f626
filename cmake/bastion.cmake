# Helpers shared by every module.

set(BASTION_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

# bastion_module(NAME SOURCES a.cpp b.cpp DEPS bastion_x Boost::json ...)
# Defines the static library bastion_<NAME>; include paths start at src/.
function(bastion_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(bastion_${name} STATIC ${ARG_SOURCES})
  target_include_directories(bastion_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(bastion_${name} PRIVATE ${BASTION_WARNINGS})
  target_compile_definitions(bastion_${name} PUBLIC BOOST_ASIO_NO_DEPRECATED)
  target_link_libraries(bastion_${name} PUBLIC ${ARG_DEPS})
endfunction()

# bastion_test(NAME SOURCES a_test.cpp DEPS bastion_x)
# A GoogleTest binary whose cases ctest lists one by one.
function(bastion_test name)
  if(NOT BASTION_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${BASTION_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    BASTION_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    BASTION_VECTORS_DIR="${PROJECT_SOURCE_DIR}/tests/vectors")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
endfunction()
