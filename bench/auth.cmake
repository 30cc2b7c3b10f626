# JWT issuance/validation and token endpoint micro-benchmarks (Google Benchmark).
#   cmake --build build-auth --target auth_bench && build-auth/bench/auth_bench
# Figures and the exact command: bench/results/auth.md.
if(TARGET bastion_auth)
  add_executable(auth_bench ${CMAKE_CURRENT_SOURCE_DIR}/auth_bench.cpp)
  target_compile_options(auth_bench PRIVATE ${BASTION_WARNINGS})
  target_link_libraries(auth_bench PRIVATE bastion_auth benchmark::benchmark)
endif()
