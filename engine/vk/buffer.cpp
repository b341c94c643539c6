#include "engine/vk/buffer.h"

#include <utility>

#include "engine/core/error.h"
#include "engine/vk/check.h"
#include "engine/vk/device.h"

namespace vkinfer::vk {
namespace {

// llvmpipe (lavapipe) JIT-compiles a compute pipeline once per variant key,
// and the key of every bound texel view holds two bits that come from sizes,
// not from the shader: whether the VkBuffer's size is a power of two
// (pot_width), and level_zero_only, which it reads from the view's mip-level
// field, a union member that for buffer views aliases bits 8-15 of the
// view's byte size. One matmul pipeline bound to views whose sizes differ in
// those bits was compiled up to four times at load (bench/RESULTS.md: a
// 16x16 GEMM tile costs 7-11 s of LLVM each time). So on CPU drivers every
// VkBuffer gets 256 bytes of slack and a size that is no power of two, and
// a view whose byte size has bits 8-15 all zero is lengthened by 256 bytes
// into that slack: every view then keys alike, and each pipeline compiles
// once.
constexpr uint64_t kViewSlack = 256;

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
bool mip_bits_zero(uint64_t bytes) { return ((bytes >> 8) & 0xffu) == 0; }

}  // namespace

Buffer Buffer::create(Device& device, uint64_t size_bytes, MemoryKind kind) {
  if (size_bytes == 0) size_bytes = 16;  // Vulkan forbids empty buffers
  size_bytes = (size_bytes + 15) / 16 * 16;
  Buffer buffer;
  buffer.device_ = &device;
  buffer.size_ = size_bytes;
  buffer.vk_size_ = size_bytes;
  buffer.steady_views_ = device.info().available.texel_buffers &&
                         device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  if (buffer.steady_views_) {
    buffer.vk_size_ += kViewSlack;
    if (is_power_of_two(buffer.vk_size_)) buffer.vk_size_ += 16;
  }
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = buffer.vk_size_;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
               VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  if (device.info().available.texel_buffers)
    info.usage |= VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VK_CHECK(vkCreateBuffer(device.handle(), &info, nullptr, &buffer.buffer_));

  VkMemoryRequirements required{};
  vkGetBufferMemoryRequirements(device.handle(), buffer.buffer_, &required);
  VkMemoryPropertyFlags wanted = 0, fallback = 0;
  switch (kind) {
    case MemoryKind::kDevice:
      wanted = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
               VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      if (!device.unified_memory()) wanted = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
      fallback = 0;
      break;
    case MemoryKind::kHostUpload:
      wanted = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      fallback = wanted;
      break;
    case MemoryKind::kHostReadback:
      wanted = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
               VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
      fallback = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      break;
  }
  try {
    buffer.allocation_ = device.memory_pool().allocate(required, wanted, fallback);
  } catch (...) {
    vkDestroyBuffer(device.handle(), buffer.buffer_, nullptr);
    buffer.buffer_ = VK_NULL_HANDLE;
    throw;
  }
  VK_CHECK(vkBindBufferMemory(device.handle(), buffer.buffer_, buffer.allocation_.memory,
                              buffer.allocation_.offset));
  return buffer;
}

VkBufferView Buffer::texel_view(VkFormat format, uint64_t offset, uint64_t range) {
  if (steady_views_ && mip_bits_zero(range) && offset + range + kViewSlack <= vk_size_ &&
      (range + kViewSlack) / 16 <= device_->info().max_texel_buffer_elements)
    range += kViewSlack;
  auto key = std::make_tuple(format, offset, range);
  auto it = views_.find(key);
  if (it != views_.end()) return it->second;
  VkBufferViewCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  info.buffer = buffer_;
  info.format = format;
  info.offset = offset;
  info.range = range;
  VkBufferView view = VK_NULL_HANDLE;
  VK_CHECK(vkCreateBufferView(device_->handle(), &info, nullptr, &view));
  views_[key] = view;
  return view;
}

void Buffer::release() {
  if (!device_) return;
  for (auto& [key, view] : views_) vkDestroyBufferView(device_->handle(), view, nullptr);
  views_.clear();
  if (buffer_ != VK_NULL_HANDLE) vkDestroyBuffer(device_->handle(), buffer_, nullptr);
  device_->memory_pool().free(allocation_);
  buffer_ = VK_NULL_HANDLE;
  allocation_ = {};
  device_ = nullptr;
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& other) noexcept { *this = std::move(other); }

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    device_ = std::exchange(other.device_, nullptr);
    buffer_ = std::exchange(other.buffer_, VK_NULL_HANDLE);
    size_ = std::exchange(other.size_, 0);
    vk_size_ = std::exchange(other.vk_size_, 0);
    steady_views_ = std::exchange(other.steady_views_, false);
    allocation_ = std::exchange(other.allocation_, {});
    views_ = std::move(other.views_);
    other.views_.clear();
  }
  return *this;
}

}  // namespace vkinfer::vk
