# MPI tensor parallelism (2 ranks under mpirun) through the real binary.
find_program(MPIRUN NAMES mpirun mpiexec)
if(MPIRUN AND MPI_CXX_FOUND)
  add_test(NAME mpi_tensor_parallel
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/mpi_test.sh $<TARGET_FILE:vkinfer>
                   ${CMAKE_CURRENT_SOURCE_DIR}/data/models/llama)
  set_tests_properties(mpi_tensor_parallel PROPERTIES ENVIRONMENT "VKINFER_VALIDATION=1" TIMEOUT 300)
endif()
