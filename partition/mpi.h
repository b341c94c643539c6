// MPI launch detection and the MPI communicator factory.
#pragma once

#include <memory>

#include "engine/parallel/communicator.h"

namespace vkinfer {

// True when this process was started by mpirun/mpiexec.
bool launched_by_mpi();
// Initializes MPI; `local_rank` receives the rank within this machine.
std::unique_ptr<Communicator> make_mpi_communicator(int* local_rank);

}  // namespace vkinfer
