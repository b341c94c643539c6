// VK_CHECK: turns a failing VkResult into a typed vkinfer::Error that carries
// the expression, the result's name and file:line. Device loss and memory
// exhaustion get their own error codes so the CLI can tell the user what to do.
#pragma once

#include <vulkan/vulkan.h>

namespace vkinfer::vk {

const char* result_name(VkResult result);
[[noreturn]] void throw_vk_error(VkResult result, const char* expression,
                                 const char* file, int line);

}  // namespace vkinfer::vk

#define VK_CHECK(expr)                                                   \
  do {                                                                   \
    VkResult vk_check_result_ = (expr);                                  \
    if (vk_check_result_ != VK_SUCCESS)                                  \
      ::vkinfer::vk::throw_vk_error(vk_check_result_, #expr, __FILE__,   \
                                    __LINE__);                           \
  } while (0)
