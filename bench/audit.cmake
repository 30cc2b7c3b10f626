# Audit log append micro-benchmark (Google Benchmark).
#   cmake --build build-bench --target audit_bench && build-bench/bench/audit_bench
# Figures and the exact command: bench/results/audit.md.
if(TARGET bastion_audit)
  add_executable(audit_bench ${CMAKE_CURRENT_SOURCE_DIR}/audit_bench.cpp)
  target_compile_options(audit_bench PRIVATE ${BASTION_WARNINGS})
  target_link_libraries(audit_bench PRIVATE bastion_audit benchmark::benchmark)
endif()
