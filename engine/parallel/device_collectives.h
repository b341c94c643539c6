// Collectives on device buffers, written once for every graph: the host
// communicators move host memory, so a device region is either reduced in
// place (unified memory: the device buffer is host-mapped) or staged through
// one host-visible buffer that is allocated here, at load, never per call.
// Each call first finishes the stream, so the work recorded before it has
// run; the staged paths record their copy back to the device on the stream
// (the next dispatch that reads the region waits for it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/parallel/communicator.h"
#include "engine/vk/buffer.h"
#include "engine/vk/command_stream.h"
#include "engine/vk/device.h"

namespace vkinfer {

struct DeviceCollectivesOptions {
  // Stage even when the device buffers are host-mapped, so the path that
  // discrete GPUs take is tested on a unified-memory driver (lavapipe).
  bool force_staging = false;
};

class DeviceCollectives {
 public:
  // `max_bytes`: the largest region any later call moves over `comm` (for
  // all_reduce, 4 * the largest count). At world == 1 nothing is allocated.
  DeviceCollectives(vk::Device& device, Communicator& comm, uint64_t max_bytes,
                    DeviceCollectivesOptions options = {});
  DeviceCollectives(const DeviceCollectives&) = delete;
  DeviceCollectives& operator=(const DeviceCollectives&) = delete;

  Communicator& comm() const { return comm_; }
  // True when calls go through the staging buffer (not in place).
  bool staged() const { return staging_.valid(); }

  // Sums `count` floats at `offset_bytes` of `buffer` over the group, in
  // place on every rank. A no-op at world == 1 (the stream is not finished).
  void all_reduce(vk::CommandStream& stream, const vk::Buffer& buffer, uint64_t offset_bytes,
                  size_t count);
  // Moves `bytes` at `offset_bytes` of this rank's `buffer` to the same-sized
  // region named by the peer's recv (a rank of this group). See
  // Communicator::send for the blocking rule.
  void send(vk::CommandStream& stream, const vk::Buffer& buffer, uint64_t offset_bytes,
            uint64_t bytes, int peer, int tag = 0);
  void recv(vk::CommandStream& stream, const vk::Buffer& buffer, uint64_t offset_bytes,
            uint64_t bytes, int peer, int tag = 0);

 private:
  // The host pointer to operate on: the mapped region itself, or the
  // staging buffer (after checking the size fits what was planned).
  void* host_region(const vk::Buffer& buffer, uint64_t offset_bytes, uint64_t bytes,
                    const char* what) const;

  Communicator& comm_;
  uint64_t max_bytes_;
  vk::Buffer staging_;  // host-visible, max_bytes_; empty when calls run in place
};

}  // namespace vkinfer
