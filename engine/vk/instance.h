// The Vulkan instance: loader, optional Khronos validation layer and a debug
// messenger that counts every message, so tests can fail on any of them.
#pragma once

#include <vulkan/vulkan.h>

#include <atomic>
#include <memory>
#include <vector>

namespace vkinfer::vk {

struct InstanceOptions {
  // Validation is on when asked here or when VKINFER_VALIDATION=1.
  bool validation = false;
};

class Instance {
 public:
  static std::unique_ptr<Instance> create(const InstanceOptions& options = {});
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  VkInstance handle() const { return instance_; }
  bool validation_enabled() const { return validation_; }
  const std::vector<VkPhysicalDevice>& physical_devices() const { return physical_devices_; }

  // Validation messages (warnings and errors) seen by any instance of this
  // process. Tests assert it stays zero.
  static uint64_t validation_message_count();

 private:
  Instance() = default;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  bool validation_ = false;
  std::vector<VkPhysicalDevice> physical_devices_;
};

bool validation_requested_by_env();

}  // namespace vkinfer::vk
