// A logical device on one physical device: one compute queue, a command pool,
// the memory pool, the pipeline cache and the kernel cache. Several Devices
// may be opened on the same physical device; tensor-parallel tests use that
// to run "multi-GPU" code on one lavapipe.
//
// Load and request paths: models build every kernel while they load (see
// Decoder::prepare_pipelines) and then seal() the device. From then on
// kernel() is a lookup, and a kernel that was not prepared is an internal
// error naming it, so "the request path creates no pipelines" is enforced,
// not hoped for. A later load on the same device opens a LoadScope. The
// counters below let tests check that a request allocated nothing.
#pragma once

#include <vulkan/vulkan.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "engine/vk/buffer.h"
#include "engine/vk/device_info.h"
#include "engine/vk/kernel.h"
#include "engine/vk/memory_pool.h"

namespace vkinfer::vk {

class Instance;

struct DeviceOptions {
  // Where the VkPipelineCache is loaded from and saved to; empty = in memory.
  std::filesystem::path pipeline_cache_path;
  // Copy through the staging buffers even where device memory is host
  // visible: the discrete-GPU path, for tests on unified-memory devices.
  bool staged_transfers = false;
};

class Device {
 public:
  static std::unique_ptr<Device> create(Instance& instance, uint32_t physical_index,
                                        const DeviceOptions& options = {});
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  VkDevice handle() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return queue_family_; }
  VkCommandPool command_pool() const { return command_pool_; }
  VkPipelineCache pipeline_cache() const { return pipeline_cache_; }
  const DeviceInfo& info() const { return info_; }
  MemoryPool& memory_pool() { return *memory_pool_; }
  // Device-local memory is host visible (CPU drivers, integrated GPUs with
  // ReBAR-like heaps): uploads are plain memcpy.
  bool unified_memory() const { return unified_memory_; }

  // The kernel for `desc`, created on first use until the device is sealed;
  // after that, outside a LoadScope, an unknown desc fails with kInternal.
  const Kernel& kernel(const KernelDesc& desc);
  // A small zeroed buffer bound to unused optional bindings (made with the
  // device, so binding it never allocates).
  const Buffer& dummy_buffer() const { return *dummy_; }

  // Ends the load phase: kernel() no longer creates pipelines.
  void seal() { sealed_ = true; }
  bool sealed() const { return sealed_; }
  // While one is alive the device may create kernels again (a second model
  // loading onto a sealed device). Scopes nest and may overlap across threads.
  class LoadScope {
   public:
    explicit LoadScope(Device& device);
    ~LoadScope();
    LoadScope(const LoadScope&) = delete;
    LoadScope& operator=(const LoadScope&) = delete;

   private:
    Device& device_;
  };
  // Drivers that compile at first dispatch (CPU devices such as lavapipe)
  // need a real dispatch at load, not just vkCreateComputePipelines.
  bool compiles_at_first_dispatch() const { return info_.type == VK_PHYSICAL_DEVICE_TYPE_CPU; }

  // Lifetime counters (never decremented).
  uint64_t pipelines_created() const { return pipelines_created_; }
  double pipeline_create_seconds() const;  // spent in Kernel::create
  uint64_t memory_allocations() const { return memory_pool_->device_allocations(); }
  uint64_t memory_allocated_bytes() const { return memory_pool_->device_allocated_bytes(); }
  uint64_t buffer_suballocations() const { return memory_pool_->suballocations(); }

  // Blocking host<->device copies for set-up and small read-backs. Where
  // device memory is not host visible they go through two staging buffers
  // made with the device (kStagingBytes each, larger copies in pieces), so a
  // request's row-table upload or sampler read-back allocates nothing.
  static constexpr uint64_t kStagingBytes = 8ull << 20;
  void upload(Buffer& buffer, uint64_t offset, const void* data, uint64_t bytes);
  void download(const Buffer& buffer, uint64_t offset, void* data, uint64_t bytes);

  // Thread-safe queue submission (queues are externally synchronized).
  void submit(VkCommandBuffer command_buffer, VkFence fence);
  void wait_fence(VkFence fence);
  void save_pipeline_cache() const;

 private:
  Device() = default;
  void run_one_time(const std::function<void(VkCommandBuffer)>& record);

  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  VkPipelineCache pipeline_cache_ = VK_NULL_HANDLE;
  std::filesystem::path pipeline_cache_path_;
  DeviceInfo info_;
  bool unified_memory_ = false;
  std::unique_ptr<MemoryPool> memory_pool_;
  std::map<KernelDesc, std::unique_ptr<Kernel>> kernels_;
  std::unique_ptr<Buffer> dummy_;
  std::unique_ptr<Buffer> upload_staging_, readback_staging_;  // when not unified
  std::atomic<bool> sealed_{false};
  std::atomic<int> load_scopes_{0};
  std::atomic<uint64_t> pipelines_created_{0};
  std::atomic<uint64_t> pipeline_create_ns_{0};
  std::mutex kernels_mutex_;
  std::mutex queue_mutex_;
};

}  // namespace vkinfer::vk
