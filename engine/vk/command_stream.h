// Records many dispatches into command buffers and submits them together.
// Barriers are inserted only where a dispatch reads or writes a buffer that
// an earlier, unbarriered dispatch wrote (or writes one it read), so
// independent dispatches may overlap. Long recordings are cut into several
// submits (`max_dispatches_per_submit`) so a long prefill cannot trip a
// desktop driver's GPU watchdog.
#pragma once

#include <vulkan/vulkan.h>

#include <initializer_list>
#include <span>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/vk/buffer.h"
#include "engine/vk/kernel.h"
#include "engine/vk/timestamp_pool.h"

namespace vkinfer::vk {

class Device;

struct StreamOptions {
  uint32_t max_dispatches_per_submit = 1024;
  bool profile = false;  // timestamps + a barrier after every dispatch
};

// Work an op does, for achieved GB/s and GFLOPS in profiles.
struct OpCost {
  double bytes = 0;
  double flops = 0;
};

struct OpTiming {
  std::string label;
  double ns = 0;
  OpCost cost;
};

class CommandStream {
 public:
  explicit CommandStream(Device& device, const StreamOptions& options = {});
  ~CommandStream();
  CommandStream(const CommandStream&) = delete;
  CommandStream& operator=(const CommandStream&) = delete;

  Device& device() const { return device_; }

  void dispatch(const Kernel& kernel, std::span<const BufferRange> bindings,
                const void* push_constants, uint32_t push_bytes, uint32_t groups_x,
                uint32_t groups_y = 1, uint32_t groups_z = 1, const char* label = nullptr,
                OpCost cost = {});
  template <typename Push>
  void dispatch(const Kernel& kernel, std::span<const BufferRange> bindings, const Push& push,
                uint32_t groups_x, uint32_t groups_y = 1, uint32_t groups_z = 1,
                const char* label = nullptr, OpCost cost = {}) {
    static_assert(sizeof(Push) <= 128, "push constants are limited to 128 bytes");
    dispatch(kernel, bindings, &push, sizeof(Push), groups_x, groups_y, groups_z, label, cost);
  }
  template <typename Push>
  void dispatch(const Kernel& kernel, std::initializer_list<BufferRange> bindings,
                const Push& push, uint32_t groups_x, uint32_t groups_y = 1,
                uint32_t groups_z = 1, const char* label = nullptr, OpCost cost = {}) {
    dispatch(kernel, std::span<const BufferRange>(bindings.begin(), bindings.size()), push,
             groups_x, groups_y, groups_z, label, cost);
  }
  void copy(const Buffer& src, uint64_t src_offset, const Buffer& dst, uint64_t dst_offset,
            uint64_t bytes);
  void fill(const Buffer& dst, uint64_t offset, uint64_t bytes, uint32_t value);
  void barrier();

  // Submits everything recorded and waits. The stream can be reused after.
  void finish();
  uint32_t dispatch_count() const { return total_dispatches_; }
  uint32_t submit_count() const { return total_submits_; }
  // Per-op GPU times of the last finish() (profile mode only).
  const std::vector<OpTiming>& timings() const { return timings_; }

 private:
  struct Batch {
    VkCommandBuffer command_buffer = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
  };
  VkCommandBuffer current();
  void submit_current();
  void note_access(VkBuffer buffer, bool write);
  VkDescriptorSet allocate_set(VkDescriptorSetLayout layout);

  Device& device_;
  StreamOptions options_;
  std::vector<Batch> batches_;          // recycled across finish()
  size_t active_batches_ = 0;           // batches used since last finish
  bool recording_ = false;
  uint32_t dispatches_in_batch_ = 0;
  uint32_t total_dispatches_ = 0;
  uint32_t total_submits_ = 0;
  std::set<VkBuffer> written_since_barrier_;
  std::set<VkBuffer> read_since_barrier_;
  std::vector<VkDescriptorPool> pools_;
  size_t active_pool_ = 0;
  std::unique_ptr<TimestampPool> timestamps_;
  std::vector<std::pair<std::string, OpCost>> pending_labels_;
  std::vector<OpTiming> timings_;
};

}  // namespace vkinfer::vk
