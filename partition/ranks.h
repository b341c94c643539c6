// Runs one body per rank of a tp × pp (× dp) topology, each with its own
// Vulkan device and its world / tp / pp / dp communicators: threads over
// host-staged collectives in one process, or this process's rank when
// launched by mpirun. A rank that throws aborts the whole world (every group
// with it), so peers fail promptly instead of waiting in a collective.
#pragma once

#include <functional>
#include <vector>

#include "engine/parallel/communicator.h"
#include "engine/parallel/topology.h"
#include "engine/vk/device.h"
#include "engine/vk/instance.h"

namespace vkinfer {

struct RankOptions {
  int tp = 1;  // tensor-parallel ranks per stage
  int pp = 1;  // pipeline stages
  int dp = 1;  // data-parallel replicas
  std::vector<int> devices;  // physical device per global rank; empty: 0 for all
  vk::DeviceOptions device_options;

  // Throws kInvalidArgument for a degree < 1.
  Topology topology() const { return Topology::make(tp, pp, dp); }
};

struct RankContext {
  vk::Device& device;
  // This rank's tensor-parallel group: the ranks of its stage. It is what
  // the graphs all-reduce over; at pp == dp == 1 it spans the world.
  Communicator& comm;
  Communicator& world;  // every rank (global rank = world.rank())
  Communicator& pp;     // one rank per stage, same tp_rank: send/recv between stages
  Communicator& dp;     // one rank per replica, same stage and tp_rank
  Topology topology;
  RankCoord coord;      // this rank's (replica, stage, tp_rank)
};

// Returns true when this process hosts global rank 0 (it should print).
bool run_ranks(const RankOptions& options, const std::function<void(RankContext&)>& body);

}  // namespace vkinfer
