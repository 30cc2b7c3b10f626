# Spawning a server into its cgroup v2 leaf: clone3(CLONE_INTO_CGROUP)
# against fork + a cgroup.procs write (Google Benchmark; root and a cgroup2
# mount needed).
#   cmake --build build --target spawn_bench && build/bench/spawn_bench
# Figures and the exact command: bench/results/cold_start.md.
if(TARGET bastion_sandbox)
  add_executable(spawn_bench ${CMAKE_CURRENT_SOURCE_DIR}/spawn_bench.cpp)
  target_compile_options(spawn_bench PRIVATE ${BASTION_WARNINGS})
  target_link_libraries(spawn_bench PRIVATE bastion_sandbox benchmark::benchmark)
endif()
