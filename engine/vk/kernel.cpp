#include "engine/vk/kernel.h"

#include <tuple>
#include <utility>

#include "engine/core/error.h"
#include "engine/vk/check.h"
#include "engine/vk/device.h"

namespace vkinfer::vk {

bool KernelDesc::operator<(const KernelDesc& other) const {
  return std::tie(shader, bindings, push_constant_bytes, spec, written_bindings) <
         std::tie(other.shader, other.bindings, other.push_constant_bytes, other.spec,
                  other.written_bindings);
}

const char* Kernel::name() const { return embedded_shader(desc_.shader).name; }

Kernel Kernel::create(Device& device, const KernelDesc& desc) {
  const DeviceInfo& info = device.info();
  if (desc.push_constant_bytes > info.max_push_constants_bytes)
    fail(ErrorCode::kInternal, "kernel {}: {} push-constant bytes exceed the device's {}",
         embedded_shader(desc.shader).name, desc.push_constant_bytes,
         info.max_push_constants_bytes);
  uint32_t invocations = desc.local_size[0] * desc.local_size[1] * desc.local_size[2];
  if (invocations > info.max_workgroup_invocations)
    fail(ErrorCode::kUnsupported, "kernel {}: workgroup of {} invocations exceeds the "
         "device's limit of {}", embedded_shader(desc.shader).name, invocations,
         info.max_workgroup_invocations);

  Kernel kernel;
  kernel.device_ = device.handle();
  kernel.desc_ = desc;
  const EmbeddedShader& shader = embedded_shader(desc.shader);

  VkShaderModuleCreateInfo module_info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  module_info.codeSize = shader.size_bytes;
  module_info.pCode = shader.code;
  VK_CHECK(vkCreateShaderModule(kernel.device_, &module_info, nullptr, &kernel.module_));

  std::vector<VkDescriptorSetLayoutBinding> bindings;
  for (uint32_t i = 0; i < desc.bindings.size(); ++i) {
    VkDescriptorSetLayoutBinding binding{};
    binding.binding = i;
    binding.descriptorType = desc.bindings[i] == BindingKind::kTexel
                                 ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                 : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    binding.descriptorCount = 1;
    binding.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    bindings.push_back(binding);
  }
  VkDescriptorSetLayoutCreateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  set_info.bindingCount = static_cast<uint32_t>(bindings.size());
  set_info.pBindings = bindings.data();
  VK_CHECK(vkCreateDescriptorSetLayout(kernel.device_, &set_info, nullptr, &kernel.set_layout_));

  VkPushConstantRange push_range{VK_SHADER_STAGE_COMPUTE_BIT, 0, desc.push_constant_bytes};
  VkPipelineLayoutCreateInfo layout_info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout_info.setLayoutCount = 1;
  layout_info.pSetLayouts = &kernel.set_layout_;
  layout_info.pushConstantRangeCount = desc.push_constant_bytes ? 1 : 0;
  layout_info.pPushConstantRanges = &push_range;
  VK_CHECK(vkCreatePipelineLayout(kernel.device_, &layout_info, nullptr, &kernel.layout_));

  std::vector<VkSpecializationMapEntry> entries;
  for (uint32_t i = 0; i < desc.spec.size(); ++i) entries.push_back({i, i * 4, 4});
  VkSpecializationInfo spec_info{};
  spec_info.mapEntryCount = static_cast<uint32_t>(entries.size());
  spec_info.pMapEntries = entries.data();
  spec_info.dataSize = desc.spec.size() * 4;
  spec_info.pData = desc.spec.data();

  VkComputePipelineCreateInfo pipeline_info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  pipeline_info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  pipeline_info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  pipeline_info.stage.module = kernel.module_;
  pipeline_info.stage.pName = "main";
  pipeline_info.stage.pSpecializationInfo = desc.spec.empty() ? nullptr : &spec_info;
  pipeline_info.layout = kernel.layout_;
  VK_CHECK(vkCreateComputePipelines(kernel.device_, device.pipeline_cache(), 1,
                                    &pipeline_info, nullptr, &kernel.pipeline_));
  return kernel;
}

void Kernel::release() {
  if (device_ == VK_NULL_HANDLE) return;
  if (pipeline_) vkDestroyPipeline(device_, pipeline_, nullptr);
  if (layout_) vkDestroyPipelineLayout(device_, layout_, nullptr);
  if (set_layout_) vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
  if (module_) vkDestroyShaderModule(device_, module_, nullptr);
  device_ = VK_NULL_HANDLE;
}

Kernel::~Kernel() { release(); }

Kernel::Kernel(Kernel&& other) noexcept { *this = std::move(other); }

Kernel& Kernel::operator=(Kernel&& other) noexcept {
  if (this != &other) {
    release();
    device_ = std::exchange(other.device_, VK_NULL_HANDLE);
    desc_ = std::move(other.desc_);
    module_ = std::exchange(other.module_, VK_NULL_HANDLE);
    set_layout_ = std::exchange(other.set_layout_, VK_NULL_HANDLE);
    layout_ = std::exchange(other.layout_, VK_NULL_HANDLE);
    pipeline_ = std::exchange(other.pipeline_, VK_NULL_HANDLE);
  }
  return *this;
}

}  // namespace vkinfer::vk
