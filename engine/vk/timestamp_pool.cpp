#include "engine/vk/timestamp_pool.h"

#include "engine/vk/check.h"
#include "engine/vk/device.h"

namespace vkinfer::vk {

TimestampPool::TimestampPool(Device& device, uint32_t capacity)
    : device_(device), capacity_(capacity) {
  VkQueryPoolCreateInfo info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  info.queryType = VK_QUERY_TYPE_TIMESTAMP;
  info.queryCount = capacity;
  VK_CHECK(vkCreateQueryPool(device.handle(), &info, nullptr, &pool_));
}

TimestampPool::~TimestampPool() { vkDestroyQueryPool(device_.handle(), pool_, nullptr); }

void TimestampPool::reset(VkCommandBuffer command_buffer) {
  vkCmdResetQueryPool(command_buffer, pool_, 0, capacity_);
  used_ = 0;
}

bool TimestampPool::write(VkCommandBuffer command_buffer) {
  if (used_ >= capacity_) return false;
  vkCmdWriteTimestamp(command_buffer, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, pool_, used_++);
  return true;
}

std::vector<double> TimestampPool::read_ns() const {
  std::vector<uint64_t> ticks(used_);
  if (used_ == 0) return {};
  VK_CHECK(vkGetQueryPoolResults(device_.handle(), pool_, 0, used_, ticks.size() * 8,
                                 ticks.data(), 8,
                                 VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  std::vector<double> ns(used_);
  const double period = device_.info().timestamp_period_ns;
  for (uint32_t i = 0; i < used_; ++i) ns[i] = double(ticks[i] - ticks[0]) * period;
  return ns;
}

}  // namespace vkinfer::vk
