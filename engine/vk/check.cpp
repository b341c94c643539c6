#include "engine/vk/check.h"

#include "engine/core/error.h"

namespace vkinfer::vk {

const char* result_name(VkResult result) {
  switch (result) {
#define CASE(x) case x: return #x;
    CASE(VK_SUCCESS) CASE(VK_NOT_READY) CASE(VK_TIMEOUT) CASE(VK_INCOMPLETE)
    CASE(VK_ERROR_OUT_OF_HOST_MEMORY) CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    CASE(VK_ERROR_INITIALIZATION_FAILED) CASE(VK_ERROR_DEVICE_LOST)
    CASE(VK_ERROR_MEMORY_MAP_FAILED) CASE(VK_ERROR_LAYER_NOT_PRESENT)
    CASE(VK_ERROR_EXTENSION_NOT_PRESENT) CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    CASE(VK_ERROR_INCOMPATIBLE_DRIVER) CASE(VK_ERROR_TOO_MANY_OBJECTS)
    CASE(VK_ERROR_FORMAT_NOT_SUPPORTED) CASE(VK_ERROR_FRAGMENTED_POOL)
    CASE(VK_ERROR_OUT_OF_POOL_MEMORY) CASE(VK_ERROR_UNKNOWN)
#undef CASE
    default: return "VK_RESULT_UNKNOWN";
  }
}

void throw_vk_error(VkResult result, const char* expression, const char* file,
                    int line) {
  if (result == VK_ERROR_DEVICE_LOST)
    fail(ErrorCode::kDeviceLost,
         "the Vulkan device was lost ({} at {}:{}); the driver reset the GPU or "
         "it hung. HINT: retry with a smaller --ctx/--batch, and check the "
         "driver log (dmesg)", expression, file, line);
  if (result == VK_ERROR_OUT_OF_DEVICE_MEMORY ||
      result == VK_ERROR_OUT_OF_HOST_MEMORY)
    fail(ErrorCode::kOutOfMemory, "{} in {} ({}:{}). HINT: use a smaller "
         "model, --ctx, --batch, --dtype f16, or more --tp ranks",
         result_name(result), expression, file, line);
  if (result == VK_ERROR_INCOMPATIBLE_DRIVER)
    fail(ErrorCode::kNoDevice, "no compatible Vulkan driver ({}). HINT: apt-get "
         "install mesa-vulkan-drivers (lavapipe) or your GPU's Vulkan driver",
         expression);
  fail(ErrorCode::kVulkan, "{} failed with {} ({}:{})", expression,
       result_name(result), file, line);
}

}  // namespace vkinfer::vk
