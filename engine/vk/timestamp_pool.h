// GPU timestamp queries for per-op timing (`vkinfer bench --profile`).
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <vector>

namespace vkinfer::vk {

class Device;

class TimestampPool {
 public:
  TimestampPool(Device& device, uint32_t capacity);
  ~TimestampPool();
  TimestampPool(const TimestampPool&) = delete;
  TimestampPool& operator=(const TimestampPool&) = delete;

  void reset(VkCommandBuffer command_buffer);
  // Writes the next timestamp; returns false when the pool is full.
  bool write(VkCommandBuffer command_buffer);
  uint32_t used() const { return used_; }
  // Nanoseconds of every written timestamp, relative to the first.
  std::vector<double> read_ns() const;

 private:
  Device& device_;
  VkQueryPool pool_ = VK_NULL_HANDLE;
  uint32_t capacity_;
  uint32_t used_ = 0;
};

}  // namespace vkinfer::vk
