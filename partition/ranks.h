// Runs one body per tensor-parallel rank, each with its own Vulkan device
// and Communicator: threads over host-staged collectives in one process, or
// this process's rank when launched by mpirun. A rank that throws aborts the
// group, so peers fail promptly instead of waiting in a collective.
#pragma once

#include <functional>
#include <vector>

#include "engine/vk/device.h"
#include "engine/vk/instance.h"
#include "engine/parallel/communicator.h"

namespace vkinfer {

struct RankOptions {
  int tp = 1;
  std::vector<int> devices;  // physical device per rank; empty: 0 for all
  vk::DeviceOptions device_options;
};

struct RankContext {
  vk::Device& device;
  Communicator& comm;
};

// Returns this process's result of rank 0's view: true when this process
// hosts rank 0 (it should print).
bool run_ranks(const RankOptions& options, const std::function<void(RankContext&)>& body);

}  // namespace vkinfer
