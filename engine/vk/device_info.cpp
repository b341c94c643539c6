#include "engine/vk/device_info.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "engine/core/error.h"

namespace vkinfer::vk {
namespace {

bool has_device_extension(VkPhysicalDevice device, const char* name) {
  uint32_t count = 0;
  vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> extensions(count);
  vkEnumerateDeviceExtensionProperties(device, nullptr, &count, extensions.data());
  for (const auto& extension : extensions)
    if (std::strcmp(extension.extensionName, name) == 0) return true;
  return false;
}

bool format_supports_texel_buffer(VkPhysicalDevice device, VkFormat format) {
  VkFormatProperties properties{};
  vkGetPhysicalDeviceFormatProperties(device, format, &properties);
  return (properties.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT) != 0;
}

}  // namespace

uint64_t DeviceInfo::device_local_heap_bytes() const {
  uint64_t largest = 0;
  for (const auto& heap : heaps)
    if (heap.device_local && heap.size_bytes > largest) largest = heap.size_bytes;
  return largest;
}

const char* DeviceInfo::type_name() const {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
  }
}

DeviceInfo query_device_info(VkPhysicalDevice device, uint32_t index) {
  DeviceInfo info;
  info.physical_device = device;
  info.index = index;

  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  subgroup.pNext = &driver;
  VkPhysicalDeviceProperties2 properties{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  properties.pNext = &subgroup;
  vkGetPhysicalDeviceProperties2(device, &properties);
  const VkPhysicalDeviceLimits& limits = properties.properties.limits;

  info.name = properties.properties.deviceName;
  info.driver_name = driver.driverName;
  info.driver_info = driver.driverInfo;
  info.type = properties.properties.deviceType;
  info.vendor_id = properties.properties.vendorID;
  info.api_version = properties.properties.apiVersion;
  info.subgroup_size = subgroup.subgroupSize;
  info.max_storage_buffer_range = limits.maxStorageBufferRange;
  info.max_texel_buffer_elements = limits.maxTexelBufferElements;
  info.min_storage_buffer_offset_alignment = limits.minStorageBufferOffsetAlignment;
  info.min_texel_buffer_offset_alignment = limits.minTexelBufferOffsetAlignment;
  info.max_shared_memory_bytes = limits.maxComputeSharedMemorySize;
  info.max_workgroup_invocations = limits.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) {
    info.max_workgroup_size[i] = limits.maxComputeWorkGroupSize[i];
    info.max_workgroup_count[i] = limits.maxComputeWorkGroupCount[i];
  }
  info.max_push_constants_bytes = limits.maxPushConstantsSize;
  info.timestamp_period_ns = limits.timestampPeriod;

  VkPhysicalDeviceMaintenance3Properties maintenance3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceProperties2 properties_m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  properties_m3.pNext = &maintenance3;
  vkGetPhysicalDeviceProperties2(device, &properties_m3);
  info.max_memory_allocation_size = maintenance3.maxMemoryAllocationSize;

  uint32_t queue_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &queue_count, nullptr);
  std::vector<VkQueueFamilyProperties> queues(queue_count);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &queue_count, queues.data());
  for (const auto& queue : queues)
    if ((queue.queueFlags & VK_QUEUE_COMPUTE_BIT) && queue.timestampValidBits > 0)
      info.timestamps_supported = limits.timestampComputeAndGraphics || true;

  VkPhysicalDeviceMemoryProperties memory{};
  vkGetPhysicalDeviceMemoryProperties(device, &memory);
  for (uint32_t i = 0; i < memory.memoryHeapCount; ++i)
    info.heaps.push_back({memory.memoryHeaps[i].size,
                          (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});

  VkPhysicalDeviceVulkan12Features features12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features features11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  features11.pNext = &features12;
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &features11;
  vkGetPhysicalDeviceFeatures2(device, &features);

  DeviceFeatures& available = info.available;
  available.subgroup_arithmetic =
      (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
      (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
      (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT) &&
      subgroup.subgroupSize >= 4;
  available.shader_float16 = features12.shaderFloat16;
  available.storage_16bit = features11.storageBuffer16BitAccess;
  available.shader_int8 = features12.shaderInt8;
  available.storage_8bit = features12.storageBuffer8BitAccess;
  available.buffer_device_address = features12.bufferDeviceAddress;
  available.external_memory_host =
      has_device_extension(device, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME);
  available.texel_buffers =
      format_supports_texel_buffer(device, VK_FORMAT_R32G32B32A32_SFLOAT) &&
      format_supports_texel_buffer(device, VK_FORMAT_R32G32B32A32_UINT);
  available.cooperative_matrix = has_device_extension(device, "VK_KHR_cooperative_matrix");

  const char* disable = std::getenv("VKINFER_DISABLE_FEATURES");
  info.enabled = apply_disabled_features(available, disable ? disable : "");
  return info;
}

DeviceFeatures apply_disabled_features(const DeviceFeatures& available,
                                       const std::string& disable_list) {
  DeviceFeatures enabled = available;
  std::stringstream stream(disable_list);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item.empty()) continue;
    if (item == "fp16") {
      enabled.shader_float16 = false;
      enabled.storage_16bit = false;
    } else if (item == "int8") {
      enabled.shader_int8 = false;
      enabled.storage_8bit = false;
    } else if (item == "subgroup") {
      enabled.subgroup_arithmetic = false;
    } else if (item == "bda") {
      enabled.buffer_device_address = false;
    } else if (item == "external_host") {
      enabled.external_memory_host = false;
    } else if (item == "texel") {
      enabled.texel_buffers = false;
    } else if (item == "coopmat") {
      enabled.cooperative_matrix = false;
    } else if (item == "all") {
      enabled = DeviceFeatures{};
    } else {
      fail(ErrorCode::kInvalidArgument,
           "VKINFER_DISABLE_FEATURES: unknown feature '{}' (known: fp16, int8, "
           "subgroup, bda, external_host, texel, coopmat, all)", item);
    }
  }
  return enabled;
}

}  // namespace vkinfer::vk
