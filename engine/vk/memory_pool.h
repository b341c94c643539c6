// A sub-allocating device-memory pool: a few large VkDeviceMemory blocks per
// memory type, carved into aligned ranges with a first-fit free list, so a
// model with hundreds of tensors makes a handful of vkAllocateMemory calls
// (drivers cap the count, e.g. 4096) instead of one per tensor.
#pragma once

#include <vulkan/vulkan.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace vkinfer::vk {

struct DeviceInfo;

struct Allocation {
  VkDeviceMemory memory = VK_NULL_HANDLE;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t memory_type = 0;
  uint32_t block = 0;
  void* mapped = nullptr;  // host pointer when the memory type is host visible
  explicit operator bool() const { return memory != VK_NULL_HANDLE; }
};

class MemoryPool {
 public:
  MemoryPool(VkDevice device, VkPhysicalDevice physical_device, const DeviceInfo& info);
  ~MemoryPool();
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;

  // `required` is VkMemoryRequirements; `wanted`/`fallback` property flags are
  // tried in order. Throws kOutOfMemory with the sizes involved.
  Allocation allocate(const VkMemoryRequirements& required,
                      VkMemoryPropertyFlags wanted, VkMemoryPropertyFlags fallback);
  void free(const Allocation& allocation);

  uint64_t bytes_in_use() const { return bytes_in_use_; }
  uint64_t bytes_reserved() const { return bytes_reserved_; }
  // Lifetime counts, never decremented: the request path must leave them
  // unchanged (tests read them before and after a forward).
  uint64_t device_allocations() const { return device_allocations_; }  // vkAllocateMemory calls
  uint64_t device_allocated_bytes() const { return device_allocated_bytes_; }
  uint64_t suballocations() const { return suballocations_; }  // ranges handed to buffers

 private:
  struct Block {
    VkDeviceMemory memory = VK_NULL_HANDLE;
    uint64_t size = 0;
    void* mapped = nullptr;
    std::map<uint64_t, uint64_t> free_ranges;  // offset -> size
  };
  int find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags flags) const;
  bool try_allocate_in(uint32_t memory_type, const VkMemoryRequirements& required,
                       Allocation* out);
  // Bytes of VkDeviceMemory this pool holds in heap `heap`.
  uint64_t reserved_in_heap(uint32_t heap) const;

  VkDevice device_;
  VkPhysicalDeviceMemoryProperties properties_{};
  uint64_t max_allocation_size_;
  uint64_t default_block_size_;
  std::map<uint32_t, std::vector<Block>> blocks_;  // by memory type
  uint64_t bytes_in_use_ = 0;
  uint64_t bytes_reserved_ = 0;
  std::atomic<uint64_t> device_allocations_{0};
  std::atomic<uint64_t> device_allocated_bytes_{0};
  std::atomic<uint64_t> suballocations_{0};
  std::mutex mutex_;
};

}  // namespace vkinfer::vk
