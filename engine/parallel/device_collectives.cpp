// Device-side collectives (device_collectives.h): staging and ordering for
// device buffers over any Communicator.
#include "engine/parallel/device_collectives.h"

#include "engine/core/error.h"

namespace vkinfer {

DeviceCollectives::DeviceCollectives(vk::Device& device, Communicator& comm, uint64_t max_bytes,
                                     DeviceCollectivesOptions options)
    : comm_(comm), max_bytes_(max_bytes) {
  if (comm.world() == 1 || max_bytes == 0) return;
  comm.reserve(static_cast<size_t>(max_bytes / sizeof(float)));
  // Read back and written again by the host: cached host memory when the
  // driver has it (kHostReadback), coherent either way.
  if (options.force_staging || !device.unified_memory())
    staging_ = vk::Buffer::create(device, max_bytes, vk::MemoryKind::kHostReadback);
}

void* DeviceCollectives::host_region(const vk::Buffer& buffer, uint64_t offset_bytes,
                                     uint64_t bytes, const char* what) const {
  if (offset_bytes + bytes > buffer.size())
    fail(ErrorCode::kInternal, "{} of {} bytes at {} overflows a {}-byte buffer", what, bytes,
         offset_bytes, buffer.size());
  if (bytes > max_bytes_)
    fail(ErrorCode::kInternal, "{} of {} bytes exceeds the {} bytes planned at load", what, bytes,
         max_bytes_);
  if (staging_.valid()) return staging_.mapped();
  if (!buffer.mapped())
    fail(ErrorCode::kInternal, "{}: the buffer is not host-mapped and no staging was planned", what);
  return static_cast<uint8_t*>(buffer.mapped()) + offset_bytes;
}

void DeviceCollectives::all_reduce(vk::CommandStream& stream, const vk::Buffer& buffer,
                                   uint64_t offset_bytes, size_t count) {
  if (comm_.world() == 1 || count == 0) return;
  const uint64_t bytes = count * sizeof(float);
  void* host = host_region(buffer, offset_bytes, bytes, "all_reduce");
  if (staged()) stream.copy(buffer, offset_bytes, staging_, 0, bytes);
  stream.finish();
  comm_.all_reduce_sum(static_cast<float*>(host), count);
  if (staged()) stream.copy(staging_, 0, buffer, offset_bytes, bytes);
}

void DeviceCollectives::send(vk::CommandStream& stream, const vk::Buffer& buffer,
                             uint64_t offset_bytes, uint64_t bytes, int peer, int tag) {
  void* host = host_region(buffer, offset_bytes, bytes, "send");
  if (staged()) stream.copy(buffer, offset_bytes, staging_, 0, bytes);
  stream.finish();
  comm_.send(host, bytes, peer, tag);
}

void DeviceCollectives::recv(vk::CommandStream& stream, const vk::Buffer& buffer,
                             uint64_t offset_bytes, uint64_t bytes, int peer, int tag) {
  void* host = host_region(buffer, offset_bytes, bytes, "recv");
  // Work recorded earlier may still read the region (or the staging buffer,
  // through a recorded copy back): let it run before the host overwrites it.
  stream.finish();
  comm_.recv(host, bytes, peer, tag);
  if (staged()) stream.copy(staging_, 0, buffer, offset_bytes, bytes);
}

}  // namespace vkinfer
