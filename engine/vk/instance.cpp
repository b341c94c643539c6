#include "engine/vk/instance.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/core/error.h"
#include "engine/vk/check.h"

namespace vkinfer::vk {
namespace {

std::atomic<uint64_t> g_validation_messages{0};

VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity,
    VkDebugUtilsMessageTypeFlagsEXT /*types*/,
    const VkDebugUtilsMessengerCallbackDataEXT* data, void* /*user*/) {
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    g_validation_messages.fetch_add(1);
    std::fprintf(stderr, "vkinfer: validation: %s\n", data->pMessage);
  }
  return VK_FALSE;
}

bool has_layer(const char* name) {
  uint32_t count = 0;
  vkEnumerateInstanceLayerProperties(&count, nullptr);
  std::vector<VkLayerProperties> layers(count);
  vkEnumerateInstanceLayerProperties(&count, layers.data());
  for (const auto& layer : layers)
    if (std::strcmp(layer.layerName, name) == 0) return true;
  return false;
}

bool has_instance_extension(const char* name) {
  uint32_t count = 0;
  vkEnumerateInstanceExtensionProperties(nullptr, &count, nullptr);
  std::vector<VkExtensionProperties> extensions(count);
  vkEnumerateInstanceExtensionProperties(nullptr, &count, extensions.data());
  for (const auto& extension : extensions)
    if (std::strcmp(extension.extensionName, name) == 0) return true;
  return false;
}

}  // namespace

bool validation_requested_by_env() {
  const char* value = std::getenv("VKINFER_VALIDATION");
  return value && std::string(value) != "0" && std::string(value) != "";
}

uint64_t Instance::validation_message_count() { return g_validation_messages.load(); }

std::unique_ptr<Instance> Instance::create(const InstanceOptions& options) {
  std::unique_ptr<Instance> instance(new Instance());
  instance->validation_ = options.validation || validation_requested_by_env();

  constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";
  std::vector<const char*> layers;
  std::vector<const char*> extensions;
  if (instance->validation_) {
    if (!has_layer(kValidationLayer))
      fail(ErrorCode::kNoDevice,
           "validation was requested (VKINFER_VALIDATION=1) but the Khronos "
           "validation layer is not installed. HINT: apt-get install "
           "vulkan-validationlayers");
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  VkInstanceCreateFlags flags = 0;
  if (has_instance_extension(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "vkinfer";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.flags = flags;
  info.pApplicationInfo = &app;
  info.enabledLayerCount = static_cast<uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();

  VkDebugUtilsMessengerCreateInfoEXT messenger_info{
      VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  messenger_info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                                   VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  messenger_info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  messenger_info.pfnUserCallback = on_debug_message;
  if (instance->validation_) info.pNext = &messenger_info;  // covers create/destroy

  VkResult result = vkCreateInstance(&info, nullptr, &instance->instance_);
  if (result == VK_ERROR_INCOMPATIBLE_DRIVER || result == VK_ERROR_INITIALIZATION_FAILED)
    fail(ErrorCode::kNoDevice,
         "no Vulkan driver found ({}). HINT: apt-get install libvulkan1 "
         "mesa-vulkan-drivers (lavapipe, a CPU driver) or install your GPU's "
         "Vulkan driver", result_name(result));
  VK_CHECK(result);

  if (instance->validation_) {
    auto create_messenger = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance->instance_, "vkCreateDebugUtilsMessengerEXT"));
    if (create_messenger)
      VK_CHECK(create_messenger(instance->instance_, &messenger_info, nullptr,
                                &instance->messenger_));
  }

  uint32_t count = 0;
  VK_CHECK(vkEnumeratePhysicalDevices(instance->instance_, &count, nullptr));
  if (count == 0)
    fail(ErrorCode::kNoDevice,
         "the Vulkan loader found no device. HINT: apt-get install "
         "mesa-vulkan-drivers (lavapipe runs on the CPU) or install your GPU's "
         "Vulkan driver; check with `vulkaninfo --summary`");
  instance->physical_devices_.resize(count);
  VK_CHECK(vkEnumeratePhysicalDevices(instance->instance_, &count,
                                      instance->physical_devices_.data()));
  return instance;
}

Instance::~Instance() {
  if (messenger_ != VK_NULL_HANDLE) {
    auto destroy_messenger = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy_messenger) destroy_messenger(instance_, messenger_, nullptr);
  }
  if (instance_ != VK_NULL_HANDLE) vkDestroyInstance(instance_, nullptr);
}

}  // namespace vkinfer::vk
