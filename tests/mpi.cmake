# MPI tensor parallelism (2 ranks under mpirun) through the real binary.
find_program(MPIRUN NAMES mpirun mpiexec)
if(MPIRUN AND MPI_CXX_FOUND)
  add_test(NAME mpi_tensor_parallel
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/mpi_test.sh $<TARGET_FILE:vkinfer>
                   ${CMAKE_CURRENT_SOURCE_DIR}/data/models/llama)
  set_tests_properties(mpi_tensor_parallel PROPERTIES ENVIRONMENT "VKINFER_VALIDATION=1" TIMEOUT 300)
endif()

# The tp x pp groups, send/recv and device collectives under mpirun -np 4.
if(MPIRUN AND MPI_CXX_FOUND)
  add_executable(mpi_groups_check ${CMAKE_CURRENT_SOURCE_DIR}/mpi_groups_check.cpp)
  target_link_libraries(mpi_groups_check PRIVATE vkinfer_lib)
  add_test(NAME mpi_groups
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/mpi_groups_test.sh $<TARGET_FILE:mpi_groups_check>)
  set_tests_properties(mpi_groups PROPERTIES ENVIRONMENT "VKINFER_VALIDATION=1" TIMEOUT 300)
endif()
