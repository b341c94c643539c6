// What a physical device can do, queried once. Kernel variants are chosen
// from these features, never from the device's name. VKINFER_DISABLE_FEATURES
// (comma list: fp16,int8,subgroup,bda,external_host,texel) turns features off
// so CI on one driver exercises every fallback path.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vkinfer::vk {

struct DeviceFeatures {
  bool subgroup_arithmetic = false;  // subgroupAdd/Max in compute shaders
  bool shader_float16 = false;       // fp16 arithmetic
  bool storage_16bit = false;        // 16-bit types in storage buffers
  bool shader_int8 = false;
  bool storage_8bit = false;
  bool buffer_device_address = false;
  bool external_memory_host = false;  // VK_EXT_external_memory_host
  bool texel_buffers = false;         // uniform texel buffers of RGBA32F/RGBA32UI
  bool cooperative_matrix = false;    // VK_KHR_cooperative_matrix
};

struct MemoryHeapInfo {
  uint64_t size_bytes = 0;
  bool device_local = false;
};

struct DeviceInfo {
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  uint32_t index = 0;
  std::string name;
  std::string driver_name;
  std::string driver_info;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  uint32_t vendor_id = 0;
  uint32_t api_version = 0;

  uint32_t subgroup_size = 1;
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_texel_buffer_elements = 0;
  // Bytes one texel view of vec4 (16-byte) texels may span.
  uint64_t max_vec4_texel_view_bytes() const { return max_texel_buffer_elements * 16; }
  uint64_t max_memory_allocation_size = 0;
  uint64_t min_storage_buffer_offset_alignment = 1;
  uint64_t min_texel_buffer_offset_alignment = 1;
  uint32_t max_shared_memory_bytes = 0;
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_size[3] = {0, 0, 0};
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  uint32_t max_push_constants_bytes = 0;
  float timestamp_period_ns = 0;
  bool timestamps_supported = false;
  std::vector<MemoryHeapInfo> heaps;

  DeviceFeatures available;  // what the driver offers
  DeviceFeatures enabled;    // what we use (available minus VKINFER_DISABLE_FEATURES)

  uint64_t device_local_heap_bytes() const;
  const char* type_name() const;
};

DeviceInfo query_device_info(VkPhysicalDevice device, uint32_t index);

// Applies VKINFER_DISABLE_FEATURES (or `disable_list` when non-empty) to
// `available` and returns the result. Unknown names are an error.
DeviceFeatures apply_disabled_features(const DeviceFeatures& available,
                                       const std::string& disable_list);

}  // namespace vkinfer::vk
