# Helpers shared by every module.

# -Wmismatched-new-delete: GCC 12 false positive on Asio coroutine frames.
# -Wrestrict: GCC 12 false positive on std::string operator+ at -O3 (PR 105651).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  set(BASTION_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-mismatched-new-delete -Wno-restrict)
  # Unity builds (CI, CMAKE_UNITY_BUILD=ON) #include each .cpp into a batch
  # file, so GCC takes a coroutine frame holding a type from the .cpp's
  # anonymous namespace for one declared in a header (-Wsubobject-linkage).
  if(CMAKE_UNITY_BUILD)
    list(APPEND BASTION_WARNINGS -Wno-subobject-linkage)
  endif()
else()
  # clang (the fuzz build): the same warnings, without GCC's workarounds.
  set(BASTION_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)
endif()

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
  # In a unity build (CI) the test files of one binary compile in batches too:
  # no two of them may define the same name at namespace scope (fixtures,
  # helpers), anonymous namespace or not.
  target_compile_options(${name} PRIVATE ${BASTION_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    BASTION_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    BASTION_VECTORS_DIR="${PROJECT_SOURCE_DIR}/tests/vectors")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
endfunction()

# bastion_glob_module(NAME DEPS ... TEST_DEPS ...)
# A module whose library is every *.cpp in its folder except *_test.cpp, and
# whose test binary <NAME>_test is every *_test.cpp. Lets several people add
# files to one module without editing its CMakeLists.txt.
function(bastion_glob_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;TEST_DEPS" ${ARGN})
  file(GLOB lib_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  file(GLOB test_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
  list(REMOVE_ITEM lib_sources ${test_sources} "")
  if(NOT lib_sources)
    return()
  endif()
  bastion_module(${name} SOURCES ${lib_sources} DEPS ${ARG_DEPS})
  if(test_sources)
    bastion_test(${name}_test SOURCES ${test_sources} DEPS bastion_${name} ${ARG_TEST_DEPS})
  endif()
endfunction()

# bastion_start_link(TARGET): how an executable that starts often (`bastion`:
# every command, every `bastion stdio` a desktop client launches) is linked.
# Its static initializers (GCC puts them in .text.startup) are kept together
# instead of spread over the code (with the libraries linked in, 134 of them
# on 133 pages: a page fault each). With BASTION_STATIC_DEPS, libstdc++ and
# libgcc are linked in too (no shared C++ library is left to load them) and no
# shared library it does not use is named (--as-needed). Sanitizer and fuzz
# builds keep the shared runtime: their runtimes replace operator new and
# delete, and are made and tested against libstdc++.so.
function(bastion_start_link target)
  target_link_options(${target} PRIVATE LINKER:-z,keep-text-section-prefix)
  if(BASTION_STATIC_DEPS AND NOT BASTION_SANITIZE AND NOT BASTION_FUZZ)
    target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc LINKER:--as-needed)
  endif()
endfunction()
