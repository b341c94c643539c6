#include "engine/vk/device.h"

#include <chrono>
#include <cstring>
#include <string>
#include <fstream>
#include <functional>
#include <iterator>
#include <vector>

#include "engine/core/error.h"
#include "engine/vk/check.h"
#include "engine/vk/instance.h"

namespace vkinfer::vk {

std::unique_ptr<Device> Device::create(Instance& instance, uint32_t physical_index,
                                       const DeviceOptions& options) {
  const auto& physical_devices = instance.physical_devices();
  if (physical_index >= physical_devices.size())
    fail(ErrorCode::kInvalidArgument,
         "device index {} does not exist: {} Vulkan device(s) found. HINT: run "
         "`vkinfer devices` to list them", physical_index, physical_devices.size());
  VkPhysicalDevice physical = physical_devices[physical_index];

  std::unique_ptr<Device> device(new Device());
  device->info_ = query_device_info(physical, physical_index);
  const DeviceInfo& info = device->info_;

  uint32_t family_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &family_count, families.data());
  int compute_family = -1;
  for (uint32_t i = 0; i < family_count; ++i) {
    // Prefer a compute-only queue (async compute on desktop GPUs).
    bool compute = families[i].queueFlags & VK_QUEUE_COMPUTE_BIT;
    bool graphics = families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT;
    if (compute && (compute_family < 0 || !graphics)) compute_family = static_cast<int>(i);
  }
  if (compute_family < 0)
    fail(ErrorCode::kUnsupported, "device {} ({}) has no compute queue", physical_index, info.name);
  device->queue_family_ = static_cast<uint32_t>(compute_family);

  float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_info.queueFamilyIndex = device->queue_family_;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;

  // Enable exactly what kernels may use; all optional.
  VkPhysicalDeviceVulkan12Features features12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  features12.shaderFloat16 = info.enabled.shader_float16;
  features12.shaderInt8 = info.enabled.shader_int8;
  features12.storageBuffer8BitAccess = info.enabled.storage_8bit;
  VkPhysicalDeviceVulkan11Features features11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  features11.storageBuffer16BitAccess = info.enabled.storage_16bit;
  features11.pNext = &features12;
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &features11;

  std::vector<const char*> extensions;
  if (info.enabled.external_memory_host) {
    extensions.push_back(VK_KHR_EXTERNAL_MEMORY_EXTENSION_NAME);
    extensions.push_back(VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
  }

  VkDeviceCreateInfo create_info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  create_info.pNext = &features;
  create_info.queueCreateInfoCount = 1;
  create_info.pQueueCreateInfos = &queue_info;
  create_info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  create_info.ppEnabledExtensionNames = extensions.data();
  VK_CHECK(vkCreateDevice(physical, &create_info, nullptr, &device->device_));
  vkGetDeviceQueue(device->device_, device->queue_family_, 0, &device->queue_);

  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool_info.queueFamilyIndex = device->queue_family_;
  VK_CHECK(vkCreateCommandPool(device->device_, &pool_info, nullptr, &device->command_pool_));

  // Pipeline cache: weights never go in here, so one cache serves any model.
  device->pipeline_cache_path_ = options.pipeline_cache_path;
  std::vector<char> cache_data;
  if (!options.pipeline_cache_path.empty()) {
    std::ifstream file(options.pipeline_cache_path, std::ios::binary);
    if (file) cache_data.assign(std::istreambuf_iterator<char>(file), {});
  }
  VkPipelineCacheCreateInfo cache_info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  cache_info.initialDataSize = cache_data.size();
  cache_info.pInitialData = cache_data.empty() ? nullptr : cache_data.data();
  // The driver validates the header (vendor, device, UUID) and ignores a
  // stale or foreign cache, so a bad file only costs compile time.
  if (vkCreatePipelineCache(device->device_, &cache_info, nullptr, &device->pipeline_cache_) != VK_SUCCESS) {
    cache_info.initialDataSize = 0;
    cache_info.pInitialData = nullptr;
    VK_CHECK(vkCreatePipelineCache(device->device_, &cache_info, nullptr, &device->pipeline_cache_));
  }

  VkPhysicalDeviceMemoryProperties memory{};
  vkGetPhysicalDeviceMemoryProperties(physical, &memory);
  for (uint32_t i = 0; i < memory.memoryTypeCount; ++i) {
    VkMemoryPropertyFlags flags = memory.memoryTypes[i].propertyFlags;
    if ((flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) &&
        (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
        (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) &&
        memory.memoryHeaps[memory.memoryTypes[i].heapIndex].size >= info.device_local_heap_bytes())
      device->unified_memory_ = true;
  }
  if (options.staged_transfers) device->unified_memory_ = false;
  device->memory_pool_ = std::make_unique<MemoryPool>(device->device_, physical, info);
  if (!device->unified_memory_) {
    device->upload_staging_ =
        std::make_unique<Buffer>(Buffer::create(*device, kStagingBytes, MemoryKind::kHostUpload));
    device->readback_staging_ =
        std::make_unique<Buffer>(Buffer::create(*device, kStagingBytes, MemoryKind::kHostReadback));
  }
  // Made here so that binding it on the request path never allocates.
  device->dummy_ = std::make_unique<Buffer>(Buffer::create(*device, 256, MemoryKind::kDevice));
  std::vector<uint8_t> zeros(256, 0);
  device->upload(*device->dummy_, 0, zeros.data(), zeros.size());
  return device;
}

Device::~Device() {
  if (device_ == VK_NULL_HANDLE) return;
  vkDeviceWaitIdle(device_);
  save_pipeline_cache();
  kernels_.clear();
  dummy_.reset();
  upload_staging_.reset();
  readback_staging_.reset();
  memory_pool_.reset();
  vkDestroyPipelineCache(device_, pipeline_cache_, nullptr);
  vkDestroyCommandPool(device_, command_pool_, nullptr);
  vkDestroyDevice(device_, nullptr);
}

void Device::save_pipeline_cache() const {
  if (pipeline_cache_path_.empty()) return;
  size_t size = 0;
  if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, nullptr) != VK_SUCCESS) return;
  std::vector<char> data(size);
  if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, data.data()) != VK_SUCCESS) return;
  std::error_code error;
  std::filesystem::create_directories(pipeline_cache_path_.parent_path(), error);
  // Write to a temp file and rename: concurrent ranks never see a torn file.
  auto temp = pipeline_cache_path_;
  temp += ".tmp" + std::to_string(reinterpret_cast<uintptr_t>(this));
  {
    std::ofstream file(temp, std::ios::binary);
    if (!file) return;
    file.write(data.data(), static_cast<std::streamsize>(size));
  }
  std::filesystem::rename(temp, pipeline_cache_path_, error);
}

const Kernel& Device::kernel(const KernelDesc& desc) {
  std::lock_guard<std::mutex> lock(kernels_mutex_);
  auto it = kernels_.find(desc);
  if (it != kernels_.end()) return *it->second;
  if (sealed_ && load_scopes_ == 0) {
    std::string spec;
    for (uint32_t value : desc.spec) spec += (spec.empty() ? "" : ",") + std::to_string(value);
    fail(ErrorCode::kInternal,
         "kernel {} (spec {}) was not prepared at load: the request path may not create "
         "pipelines. The model's prepare_pipelines() must cover this shape class",
         embedded_shader(desc.shader).name, spec.empty() ? "none" : spec);
  }
  const auto start = std::chrono::steady_clock::now();
  auto kernel = std::make_unique<Kernel>(Kernel::create(*this, desc));
  pipeline_create_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now() - start).count();
  ++pipelines_created_;
  const Kernel& ref = *kernel;
  kernels_.emplace(desc, std::move(kernel));
  return ref;
}

double Device::pipeline_create_seconds() const { return pipeline_create_ns_ * 1e-9; }

Device::LoadScope::LoadScope(Device& device) : device_(device) { ++device_.load_scopes_; }

Device::LoadScope::~LoadScope() { --device_.load_scopes_; }

void Device::submit(VkCommandBuffer command_buffer, VkFence fence) {
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &command_buffer;
  std::lock_guard<std::mutex> lock(queue_mutex_);
  VK_CHECK(vkQueueSubmit(queue_, 1, &submit, fence));
}

void Device::wait_fence(VkFence fence) {
  VK_CHECK(vkWaitForFences(device_, 1, &fence, VK_TRUE, UINT64_MAX));
}

void Device::run_one_time(const std::function<void(VkCommandBuffer)>& record) {
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = command_pool_;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  VkCommandBuffer command_buffer = VK_NULL_HANDLE;
  std::unique_lock<std::mutex> pool_lock(queue_mutex_);
  VK_CHECK(vkAllocateCommandBuffers(device_, &alloc, &command_buffer));
  pool_lock.unlock();
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VK_CHECK(vkBeginCommandBuffer(command_buffer, &begin));
  record(command_buffer);
  VK_CHECK(vkEndCommandBuffer(command_buffer));
  VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence = VK_NULL_HANDLE;
  VK_CHECK(vkCreateFence(device_, &fence_info, nullptr, &fence));
  submit(command_buffer, fence);
  VkResult result = vkWaitForFences(device_, 1, &fence, VK_TRUE, UINT64_MAX);
  vkDestroyFence(device_, fence, nullptr);
  pool_lock.lock();
  vkFreeCommandBuffers(device_, command_pool_, 1, &command_buffer);
  pool_lock.unlock();
  VK_CHECK(result);
}

void Device::upload(Buffer& buffer, uint64_t offset, const void* data, uint64_t bytes) {
  if (bytes == 0) return;
  if (offset + bytes > buffer.size())
    fail(ErrorCode::kInternal, "upload of {} bytes at {} overflows a {}-byte buffer", bytes,
         offset, buffer.size());
  if (unified_memory_ && buffer.mapped()) {
    std::memcpy(static_cast<uint8_t*>(buffer.mapped()) + offset, data, bytes);
    return;
  }
  const Buffer& staging = *upload_staging_;
  for (uint64_t done = 0; done < bytes; done += kStagingBytes) {
    const uint64_t count = std::min(kStagingBytes, bytes - done);
    std::memcpy(staging.mapped(), static_cast<const uint8_t*>(data) + done, count);
    run_one_time([&](VkCommandBuffer command_buffer) {
      VkBufferCopy region{0, offset + done, count};
      vkCmdCopyBuffer(command_buffer, staging.handle(), buffer.handle(), 1, &region);
    });
  }
}

void Device::download(const Buffer& buffer, uint64_t offset, void* data, uint64_t bytes) {
  if (bytes == 0) return;
  if (offset + bytes > buffer.size())
    fail(ErrorCode::kInternal, "download of {} bytes at {} overflows a {}-byte buffer", bytes,
         offset, buffer.size());
  if (unified_memory_ && buffer.mapped()) {
    std::memcpy(data, static_cast<const uint8_t*>(buffer.mapped()) + offset, bytes);
    return;
  }
  const Buffer& staging = *readback_staging_;
  for (uint64_t done = 0; done < bytes; done += kStagingBytes) {
    const uint64_t count = std::min(kStagingBytes, bytes - done);
    run_one_time([&](VkCommandBuffer command_buffer) {
      VkBufferCopy region{offset + done, 0, count};
      vkCmdCopyBuffer(command_buffer, buffer.handle(), staging.handle(), 1, &region);
    });
    std::memcpy(static_cast<uint8_t*>(data) + done, staging.mapped(), count);
  }
}

}  // namespace vkinfer::vk
