# PII scanner and PII filter micro-benchmarks (Google Benchmark).
#   cmake --build build-pii --target pii_bench && build-pii/bench/pii_bench
# Figures and the exact command: bench/results/pii.md.
if(TARGET bastion_pii)
  add_executable(pii_bench ${CMAKE_CURRENT_SOURCE_DIR}/pii_bench.cpp)
  target_compile_options(pii_bench PRIVATE ${BASTION_WARNINGS})
  target_link_libraries(pii_bench PRIVATE bastion_pii benchmark::benchmark)
endif()

# Precision and recall per PII type on a labelled corpus (not a timing).
#   build/bench/pii_eval --out bench/results/pii.md
if(TARGET bastion_pii)
  add_executable(pii_eval ${CMAKE_CURRENT_SOURCE_DIR}/pii_eval.cpp)
  target_compile_options(pii_eval PRIVATE ${BASTION_WARNINGS})
  target_link_libraries(pii_eval PRIVATE bastion_pii)
endif()
