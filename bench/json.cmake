# JSON text out: protocol::json_text (every wire) against Boost.JSON's serializer.
#   cmake --build build-bench --target json_bench && build-bench/bench/json_bench
# Figures and the exact command: bench/results/json.md.
if(TARGET bastion_protocol)
  add_executable(json_bench ${CMAKE_CURRENT_SOURCE_DIR}/json_bench.cpp)
  target_compile_options(json_bench PRIVATE ${BASTION_WARNINGS})
  target_link_libraries(json_bench PRIVATE bastion_protocol benchmark::benchmark)
endif()
