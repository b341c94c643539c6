// Collectives behind one interface. The model graphs call these after
// row-parallel layers; at world == 1 they are no-ops. Implementations:
// single rank, host-staged threads (several Vulkan devices in one process)
// and MPI (one rank per process), all made by make_communicator().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
  virtual void barrier() = 0;
  // Tells every peer this rank failed, so they stop waiting (no hang).
  virtual void abort(const std::string& reason) = 0;
  TpConfig tp() const { return {rank(), world()}; }

  // Seconds spent inside collectives (for the share-of-time report).
  double seconds_in_collectives() const { return seconds_; }

 protected:
  double seconds_ = 0;
};

std::unique_ptr<Communicator> make_single_communicator();

// One communicator per thread-rank sharing host memory; all `world` of them
// come from one group. The group owns the shared state.
class HostGroup;
std::vector<std::unique_ptr<Communicator>> make_host_communicators(int world);

}  // namespace vkinfer
