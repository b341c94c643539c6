#include "engine/vk/memory_pool.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/vk/check.h"
#include "engine/vk/device_info.h"

namespace vkinfer::vk {
namespace {

constexpr uint64_t kMiB = 1024ull * 1024ull;

uint64_t align_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

MemoryPool::MemoryPool(VkDevice device, VkPhysicalDevice physical_device,
                       const DeviceInfo& info)
    : device_(device),
      max_allocation_size_(info.max_memory_allocation_size ? info.max_memory_allocation_size
                                                           : (1ull << 32)),
      default_block_size_(256 * kMiB) {
  vkGetPhysicalDeviceMemoryProperties(physical_device, &properties_);
}

MemoryPool::~MemoryPool() {
  for (auto& [type, blocks] : blocks_)
    for (auto& block : blocks) {
      if (block.mapped) vkUnmapMemory(device_, block.memory);
      vkFreeMemory(device_, block.memory, nullptr);
    }
}

int MemoryPool::find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags flags) const {
  for (uint32_t i = 0; i < properties_.memoryTypeCount; ++i)
    if ((type_bits & (1u << i)) &&
        (properties_.memoryTypes[i].propertyFlags & flags) == flags)
      return static_cast<int>(i);
  return -1;
}

uint64_t MemoryPool::reserved_in_heap(uint32_t heap) const {
  uint64_t total = 0;
  for (const auto& [type, blocks] : blocks_)
    if (properties_.memoryTypes[type].heapIndex == heap)
      for (const Block& block : blocks) total += block.size;
  return total;
}

bool MemoryPool::try_allocate_in(uint32_t memory_type, const VkMemoryRequirements& required,
                                 Allocation* out) {
  auto& blocks = blocks_[memory_type];
  for (uint32_t b = 0; b < blocks.size(); ++b) {
    Block& block = blocks[b];
    for (auto it = block.free_ranges.begin(); it != block.free_ranges.end(); ++it) {
      uint64_t start = align_up(it->first, required.alignment);
      uint64_t end = it->first + it->second;
      if (start + required.size > end) continue;
      uint64_t range_offset = it->first;
      block.free_ranges.erase(it);
      if (start > range_offset) block.free_ranges[range_offset] = start - range_offset;
      if (start + required.size < end)
        block.free_ranges[start + required.size] = end - (start + required.size);
      out->memory = block.memory;
      out->offset = start;
      out->size = required.size;
      out->memory_type = memory_type;
      out->block = b;
      out->mapped = block.mapped ? static_cast<uint8_t*>(block.mapped) + start : nullptr;
      return true;
    }
  }
  return false;
}

Allocation MemoryPool::allocate(const VkMemoryRequirements& required,
                                VkMemoryPropertyFlags wanted,
                                VkMemoryPropertyFlags fallback) {
  std::lock_guard<std::mutex> lock(mutex_);
  int memory_type = find_memory_type(required.memoryTypeBits, wanted);
  if (memory_type < 0) memory_type = find_memory_type(required.memoryTypeBits, fallback);
  if (memory_type < 0)
    fail(ErrorCode::kVulkan, "no Vulkan memory type with the needed properties");
  if (required.size > max_allocation_size_)
    fail(ErrorCode::kOutOfMemory,
         "a buffer of {:.1f} MiB exceeds the device's maximum allocation size of "
         "{:.1f} MiB. HINT: use more --tp ranks or --dtype f16",
         required.size / double(kMiB), max_allocation_size_ / double(kMiB));

  Allocation allocation;
  if (!try_allocate_in(static_cast<uint32_t>(memory_type), required, &allocation)) {
    // Big tensors get a block of their own size; small ones share a block.
    uint64_t block_size = std::max(default_block_size_, align_up(required.size, kMiB));
    block_size = std::min(block_size, max_allocation_size_);
    const uint32_t heap = properties_.memoryTypes[memory_type].heapIndex;
    const uint64_t heap_size = properties_.memoryHeaps[heap].size;
    const uint64_t heap_reserved = reserved_in_heap(heap);
    if (heap_reserved + block_size > heap_size && required.size <= heap_size)
      block_size = std::max<uint64_t>(align_up(required.size, 4096), 4096);
    // Checked here, not left to the driver: asking for more than the heap is
    // invalid usage (VUID-vkAllocateMemory-pAllocateInfo-01713), and CPU
    // drivers such as lavapipe overcommit instead of failing, so the error
    // would otherwise come later, as a crash or a swap storm.
    if (heap_reserved + block_size > heap_size)
      fail(ErrorCode::kOutOfMemory,
           "device memory exhausted: asked for {:.1f} MiB with {:.1f} MiB already "
           "in use of a {:.1f} MiB heap. HINT: use a smaller --ctx/--batch, "
           "--dtype f16, or more --tp ranks",
           required.size / double(kMiB), heap_reserved / double(kMiB),
           heap_size / double(kMiB));

    VkMemoryAllocateInfo info{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    info.allocationSize = block_size;
    info.memoryTypeIndex = static_cast<uint32_t>(memory_type);
    Block block;
    block.size = block_size;
    VkResult result = vkAllocateMemory(device_, &info, nullptr, &block.memory);
    if (result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY)
      fail(ErrorCode::kOutOfMemory,
           "device memory exhausted: asked for {:.1f} MiB with {:.1f} MiB already "
           "in use of a {:.1f} MiB heap. HINT: use a smaller --ctx/--batch, "
           "--dtype f16, or more --tp ranks",
           required.size / double(kMiB), bytes_reserved_ / double(kMiB),
           heap_size / double(kMiB));
    VK_CHECK(result);
    if (properties_.memoryTypes[memory_type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
      VK_CHECK(vkMapMemory(device_, block.memory, 0, VK_WHOLE_SIZE, 0, &block.mapped));
    block.free_ranges[0] = block_size;
    blocks_[memory_type].push_back(std::move(block));
    bytes_reserved_ += block_size;
    ++device_allocations_;
    device_allocated_bytes_ += block_size;
    if (!try_allocate_in(static_cast<uint32_t>(memory_type), required, &allocation))
      fail(ErrorCode::kInternal, "memory pool: fresh block could not hold the request");
  }
  bytes_in_use_ += allocation.size;
  ++suballocations_;
  return allocation;
}

void MemoryPool::free(const Allocation& allocation) {
  if (!allocation) return;
  std::lock_guard<std::mutex> lock(mutex_);
  Block& block = blocks_[allocation.memory_type][allocation.block];
  auto [it, inserted] = block.free_ranges.emplace(allocation.offset, allocation.size);
  // Merge with the following and preceding free ranges.
  auto next = std::next(it);
  if (next != block.free_ranges.end() && it->first + it->second == next->first) {
    it->second += next->second;
    block.free_ranges.erase(next);
  }
  if (it != block.free_ranges.begin()) {
    auto previous = std::prev(it);
    if (previous->first + previous->second == it->first) {
      previous->second += it->second;
      block.free_ranges.erase(it);
    }
  }
  bytes_in_use_ -= allocation.size;
}

}  // namespace vkinfer::vk
