// A compute kernel: shader module + descriptor set layout + pipeline layout +
// pipeline, made from embedded SPIR-V with specialization constants. Kernels
// are created once per (shader, specialization) and cached by the Device.
#pragma once

#include <vulkan/vulkan.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "shader_id.h"

namespace vkinfer::vk {

class Device;

enum class BindingKind : uint8_t { kStorage, kTexel };

struct KernelDesc {
  ShaderId shader{};
  std::vector<BindingKind> bindings;  // binding i of set 0
  uint32_t push_constant_bytes = 0;
  // Specialization constants in constant_id order 0..n-1. Build them from a
  // named struct with `spec_values(struct)`, never by hand.
  std::vector<uint32_t> spec;
  std::array<uint32_t, 3> local_size{1, 1, 1};  // for dispatch limit checks
  // Bit i set = binding i is written. Drives the CommandStream's barriers.
  uint32_t written_bindings = 0;

  bool operator<(const KernelDesc& other) const;
};

// Flattens a struct of uint32_t/int32_t/float fields into spec values, in
// field order (the shader's constant_id order).
template <typename T>
std::vector<uint32_t> spec_values(const T& spec) {
  static_assert(sizeof(T) % 4 == 0, "spec structs hold 32-bit fields only");
  std::vector<uint32_t> values(sizeof(T) / 4);
  __builtin_memcpy(values.data(), &spec, sizeof(T));
  return values;
}

class Kernel {
 public:
  static Kernel create(Device& device, const KernelDesc& desc);
  Kernel() = default;
  ~Kernel();
  Kernel(Kernel&& other) noexcept;
  Kernel& operator=(Kernel&& other) noexcept;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  const KernelDesc& desc() const { return desc_; }
  VkPipeline pipeline() const { return pipeline_; }
  VkPipelineLayout layout() const { return layout_; }
  VkDescriptorSetLayout set_layout() const { return set_layout_; }
  const char* name() const;

 private:
  void release();
  VkDevice device_ = VK_NULL_HANDLE;
  KernelDesc desc_;
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
};

}  // namespace vkinfer::vk
