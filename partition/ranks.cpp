// The rank launcher (ranks.h): world = tp × pp × dp ranks as threads or MPI
// processes, each with its device and per-axis groups.
#include "partition/ranks.h"

#include <cstdlib>
#include <exception>
#include <thread>

#include "engine/core/error.h"
#include "partition/mpi.h"

namespace vkinfer {
namespace {

// Fault injection for the tests that check a failing rank ends the whole
// group promptly: VKINFER_TEST_FAIL_RANK=<r> makes global rank r fail after
// loading.
void maybe_inject_failure(int rank) {
  const char* value = std::getenv("VKINFER_TEST_FAIL_RANK");
  if (value && std::atoi(value) == rank)
    fail(ErrorCode::kInternal, "rank {} failed on purpose (VKINFER_TEST_FAIL_RANK)", rank);
}

// Splits this rank's groups from `world` and runs the body. The groups die
// before `world` (MPI frees sub-communicators before finalizing).
void run_body(vk::Device& device, Communicator& world, const Topology& topology,
              const std::function<void(RankContext&)>& body) {
  CommGroups groups = make_groups(world, topology);
  maybe_inject_failure(world.rank());
  RankContext context{device,        *groups.tp, world, *groups.pp, *groups.dp, topology,
                      topology.coord(world.rank())};
  body(context);
}

}  // namespace

bool run_ranks(const RankOptions& options, const std::function<void(RankContext&)>& body) {
  const Topology topology = options.topology();
  const int world = topology.world();
  auto instance = vk::Instance::create();
  const int device_count = static_cast<int>(instance->physical_devices().size());

  if (launched_by_mpi()) {
    int local_rank = 0;
    auto comm = make_mpi_communicator(&local_rank);
    try {
      if (comm->world() != world) {
        if (topology.pp == 1 && topology.dp == 1)
          fail(ErrorCode::kInvalidArgument, "--tp {} but mpirun started {} ranks. HINT: use "
               "mpirun -np {}", options.tp, comm->world(), options.tp);
        topology.check_world(comm->world());
      }
      const int index = options.devices.empty()
                            ? local_rank % device_count
                            : options.devices[local_rank % options.devices.size()];
      auto device = vk::Device::create(*instance, index, options.device_options);
      run_body(*device, *comm, topology, body);
      comm->barrier();
    } catch (const std::exception& e) {
      if (comm->world() > 1) comm->abort(e.what());
      throw;
    }
    return comm->rank() == 0;
  }

  if (world == 1) {
    const int index = options.devices.empty() ? 0 : options.devices[0];
    auto device = vk::Device::create(*instance, index, options.device_options);
    auto comm = make_single_communicator();
    run_body(*device, *comm, topology, body);
    return true;
  }

  if (!options.devices.empty() && static_cast<int>(options.devices.size()) != world) {
    if (topology.pp == 1 && topology.dp == 1)
      fail(ErrorCode::kInvalidArgument, "--devices lists {} devices for --tp {}. HINT: give one per "
           "rank, e.g. --devices 0,0 to put two ranks on device 0", options.devices.size(), options.tp);
    fail(ErrorCode::kInvalidArgument, "--devices lists {} devices for {} ({} ranks). HINT: give one "
         "per rank, in global rank order (tp_rank fastest, then stage)", options.devices.size(),
         topology.describe(), world);
  }
  auto comms = make_host_communicators(world);
  std::vector<std::exception_ptr> errors(world);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        const int index = options.devices.empty() ? 0 : options.devices[rank];
        auto device = vk::Device::create(*instance, index, options.device_options);
        run_body(*device, *comms[rank], topology, body);
      } catch (const std::exception& e) {
        errors[rank] = std::current_exception();
        comms[rank]->abort(e.what());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // Report the root cause, not a peer's "a peer rank failed".
  for (auto& error : errors) {
    if (!error) continue;
    try {
      std::rethrow_exception(error);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kComm) continue;
      throw;
    }
  }
  for (auto& error : errors)
    if (error) std::rethrow_exception(error);
  return true;
}

}  // namespace vkinfer
