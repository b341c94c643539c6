#include "partition/ranks.h"

#include <cstdlib>
#include <exception>
#include <thread>

#include "engine/core/error.h"
#include "partition/mpi.h"

namespace vkinfer {
namespace {

// Fault injection for the tests that check a failing rank ends the whole
// group promptly: VKINFER_TEST_FAIL_RANK=<r> makes rank r fail after loading.
void maybe_inject_failure(int rank) {
  const char* value = std::getenv("VKINFER_TEST_FAIL_RANK");
  if (value && std::atoi(value) == rank)
    fail(ErrorCode::kInternal, "rank {} failed on purpose (VKINFER_TEST_FAIL_RANK)", rank);
}

}  // namespace

bool run_ranks(const RankOptions& options, const std::function<void(RankContext&)>& body) {
  if (options.tp < 1) fail(ErrorCode::kInvalidArgument, "--tp must be >= 1 (got {})", options.tp);
  auto instance = vk::Instance::create();
  const int device_count = static_cast<int>(instance->physical_devices().size());

  if (launched_by_mpi()) {
    int local_rank = 0;
    auto comm = make_mpi_communicator(&local_rank);
    try {
      if (comm->world() != options.tp)
        fail(ErrorCode::kInvalidArgument, "--tp {} but mpirun started {} ranks. HINT: use "
             "mpirun -np {}", options.tp, comm->world(), options.tp);
      const int index = options.devices.empty()
                            ? local_rank % device_count
                            : options.devices[local_rank % options.devices.size()];
      auto device = vk::Device::create(*instance, index, options.device_options);
      maybe_inject_failure(comm->rank());
      RankContext context{*device, *comm};
      body(context);
      comm->barrier();
    } catch (const std::exception& e) {
      if (comm->world() > 1) comm->abort(e.what());
      throw;
    }
    return comm->rank() == 0;
  }

  if (options.tp == 1) {
    const int index = options.devices.empty() ? 0 : options.devices[0];
    auto device = vk::Device::create(*instance, index, options.device_options);
    auto comm = make_single_communicator();
    RankContext context{*device, *comm};
    body(context);
    return true;
  }

  if (!options.devices.empty() && static_cast<int>(options.devices.size()) != options.tp)
    fail(ErrorCode::kInvalidArgument, "--devices lists {} devices for --tp {}. HINT: give one per "
         "rank, e.g. --devices 0,0 to put two ranks on device 0", options.devices.size(), options.tp);
  auto comms = make_host_communicators(options.tp);
  std::vector<std::exception_ptr> errors(options.tp);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < options.tp; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        const int index = options.devices.empty() ? 0 : options.devices[rank];
        auto device = vk::Device::create(*instance, index, options.device_options);
        maybe_inject_failure(rank);
        RankContext context{*device, *comms[rank]};
        body(context);
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
