// Collectives and point-to-point messages behind one interface, over host
// memory. The model graphs reach them through engine/parallel/
// device_collectives.h (which stages device buffers); at world == 1 they are
// no-ops. Implementations: single rank, host-staged threads (several Vulkan
// devices in one process, partition/communicator_host.cpp) and MPI (one rank
// per process, partition/communicator_mpi.cpp).
//
// A communicator is a group of ranks. split() makes sub-groups of it (MPI's
// MPI_Comm_split), which is how a tp × pp world gets its per-axis groups
// (make_groups below). abort() on any communicator of a run wakes every rank
// of every group made from the same world, so a failing rank never leaves a
// peer blocked in a collective or a recv.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/parallel/topology.h"

namespace vkinfer {

struct TpConfig {
  int rank = 0;
  int world = 1;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  // In-place elementwise sum over ranks; every rank ends with the sum.
  virtual void all_reduce_sum(float* data, size_t count) = 0;
  // recv holds world * bytes: rank r's `send` lands at recv + r * bytes.
  virtual void all_gather(const void* send, size_t bytes, void* recv) = 0;
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  // A broadcast the other ranks may wait on for long (a server's followers,
  // idle until a request comes): they wait without keeping a core busy,
  // where the transport would otherwise poll (MPI). The same otherwise.
  virtual void broadcast_idle(void* data, size_t bytes, int root) { broadcast(data, bytes, root); }
  virtual void barrier() = 0;
  // Point to point within this group. `peer` is a rank of this group. A send
  // may block until the peer receives it (as MPI_Send may), so two ranks
  // must not both send to each other first. `bytes` and `tag` must match
  // the peer's call; a mismatch throws (kComm) instead of hanging.
  virtual void send(const void* data, size_t bytes, int peer, int tag = 0) = 0;
  virtual void recv(void* data, size_t bytes, int peer, int tag = 0) = 0;
  // Collective over this group: ranks passing the same `color` form one new
  // group, ordered by `key` (ties by rank here). Every rank gets its group.
  virtual std::unique_ptr<Communicator> split(int color, int key) = 0;
  // Tells every peer this rank failed, so they stop waiting (no hang); the
  // abort reaches every group split from the same world.
  virtual void abort(const std::string& reason) = 0;
  // Host scratch the collectives need for `floats` elements, so that later
  // calls of up to that size allocate nothing (called at load).
  virtual void reserve(size_t /*floats*/) {}
  TpConfig tp() const { return {rank(), world()}; }

  // Seconds spent inside collectives (for the share-of-time report).
  double seconds_in_collectives() const { return seconds_; }

 protected:
  double seconds_ = 0;
};

// The per-axis groups of one rank of `topology`, split from its world.
struct CommGroups {
  std::unique_ptr<Communicator> tp;  // the ranks of this rank's stage (and replica)
  std::unique_ptr<Communicator> pp;  // same replica and tp_rank, one per stage, by stage
  std::unique_ptr<Communicator> dp;  // same stage and tp_rank, one per replica
};
// Collective over `world` (every rank must call it). Throws kInvalidArgument
// when world.world() != topology.world().
CommGroups make_groups(Communicator& world, const Topology& topology);

std::unique_ptr<Communicator> make_single_communicator();

// One communicator per thread-rank sharing host memory; all `world` of them
// come from one group. The group owns the shared state.
class HostGroup;
std::vector<std::unique_ptr<Communicator>> make_host_communicators(int world);

}  // namespace vkinfer
