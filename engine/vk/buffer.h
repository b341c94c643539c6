// A VkBuffer bound to a range of the device's MemoryPool. Move-only; frees its
// range on destruction. Texel views (for the weight-streaming kernels) are
// created on demand and owned by the buffer.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <map>
#include <tuple>

#include "engine/vk/memory_pool.h"

namespace vkinfer::vk {

class Device;

enum class MemoryKind {
  kDevice,    // device-local (mapped too on unified-memory devices like lavapipe)
  kHostUpload,    // host-visible, coherent: staging for uploads
  kHostReadback,  // host-visible, cached when possible: downloads
};

class Buffer {
 public:
  Buffer() = default;
  static Buffer create(Device& device, uint64_t size_bytes, MemoryKind kind);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  VkBuffer handle() const { return buffer_; }
  uint64_t size() const { return size_; }
  void* mapped() const { return allocation_.mapped; }
  bool valid() const { return buffer_ != VK_NULL_HANDLE; }
  Device* device() const { return device_; }

  // A uniform texel view of [offset, offset+range) with `format` (16-byte
  // texels). On CPU drivers the view may reach further into the buffer's
  // slack than asked (see buffer.cpp); shaders index from its start, so a
  // longer view reads the same texels.
  VkBufferView texel_view(VkFormat format, uint64_t offset, uint64_t range);

 private:
  void release();
  Device* device_ = nullptr;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  uint64_t size_ = 0;        // what was asked for, rounded to 16 bytes
  uint64_t vk_size_ = 0;     // the VkBuffer's size: size_ plus texel-view slack
  bool steady_views_ = false;  // keep views in one llvmpipe variant (buffer.cpp)
  Allocation allocation_;
  std::map<std::tuple<VkFormat, uint64_t, uint64_t>, VkBufferView> views_;
};

// A binding: a byte range of a buffer, or a texel view of one.
struct BufferRange {
  const Buffer* buffer = nullptr;
  uint64_t offset = 0;
  uint64_t range = VK_WHOLE_SIZE;
  VkFormat texel_format = VK_FORMAT_UNDEFINED;  // set for texel bindings
  BufferRange() = default;
  BufferRange(const Buffer& b) : buffer(&b) {}  // NOLINT: implicit by design
  BufferRange(const Buffer& b, uint64_t offset_bytes, uint64_t range_bytes)
      : buffer(&b), offset(offset_bytes), range(range_bytes) {}
};

}  // namespace vkinfer::vk
