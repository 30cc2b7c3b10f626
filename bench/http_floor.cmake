# The floor under the direct path: Asio and Beast alone, shaped as Bastion's
# transport (bench/http_floor.cpp; run by bench/cpu_per_call --floor).
add_executable(http_floor ${CMAKE_CURRENT_SOURCE_DIR}/http_floor.cpp)
target_compile_options(http_floor PRIVATE ${BASTION_WARNINGS})
target_link_libraries(http_floor PRIVATE Boost::headers Threads::Threads)
