#include "engine/vk/command_stream.h"

#include "engine/core/error.h"
#include "engine/vk/check.h"
#include "engine/vk/device.h"

namespace vkinfer::vk {
namespace {

constexpr uint32_t kSetsPerPool = 512;
constexpr uint32_t kTimestampCapacity = 8192;

void memory_barrier(VkCommandBuffer command_buffer) {
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                          VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  vkCmdPipelineBarrier(command_buffer,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       0, 1, &barrier, 0, nullptr, 0, nullptr);
}

}  // namespace

CommandStream::CommandStream(Device& device, const StreamOptions& options)
    : device_(device), options_(options) {
  if (options_.profile) {
    if (!device.info().timestamps_supported)
      fail(ErrorCode::kUnsupported, "device {} has no compute timestamps; --profile "
           "is unavailable", device.info().name);
    timestamps_ = std::make_unique<TimestampPool>(device, kTimestampCapacity);
    options_.max_dispatches_per_submit = kTimestampCapacity - 2;
  }
}

CommandStream::~CommandStream() {
  try {
    if (recording_ || active_batches_) finish();
  } catch (...) {
    // Destructors must not throw; a lost device is reported by the caller's
    // own finish().
  }
  VkDevice handle = device_.handle();
  for (auto& batch : batches_) {
    vkFreeCommandBuffers(handle, device_.command_pool(), 1, &batch.command_buffer);
    vkDestroyFence(handle, batch.fence, nullptr);
  }
  for (VkDescriptorPool pool : pools_) vkDestroyDescriptorPool(handle, pool, nullptr);
}

VkCommandBuffer CommandStream::current() {
  if (recording_) return batches_[active_batches_ - 1].command_buffer;
  if (active_batches_ == batches_.size()) {
    Batch batch;
    VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    alloc.commandPool = device_.command_pool();
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    VK_CHECK(vkAllocateCommandBuffers(device_.handle(), &alloc, &batch.command_buffer));
    VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VK_CHECK(vkCreateFence(device_.handle(), &fence_info, nullptr, &batch.fence));
    batches_.push_back(batch);
  }
  Batch& batch = batches_[active_batches_++];
  VK_CHECK(vkResetCommandBuffer(batch.command_buffer, 0));
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VK_CHECK(vkBeginCommandBuffer(batch.command_buffer, &begin));
  recording_ = true;
  dispatches_in_batch_ = 0;
  if (active_batches_ == 1 && timestamps_) {
    timestamps_->reset(batch.command_buffer);
    timestamps_->write(batch.command_buffer);
    pending_labels_.clear();
  }
  // Earlier submits on this queue may still write what we read.
  if (active_batches_ > 1) memory_barrier(batch.command_buffer);
  written_since_barrier_.clear();
  read_since_barrier_.clear();
  return batch.command_buffer;
}

void CommandStream::submit_current() {
  if (!recording_) return;
  Batch& batch = batches_[active_batches_ - 1];
  // Make shader/transfer writes visible to host reads after the fence.
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(batch.command_buffer,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, nullptr, 0, nullptr);
  VK_CHECK(vkEndCommandBuffer(batch.command_buffer));
  VK_CHECK(vkResetFences(device_.handle(), 1, &batch.fence));
  device_.submit(batch.command_buffer, batch.fence);
  recording_ = false;
  ++total_submits_;
}

void CommandStream::note_access(VkBuffer buffer, bool write) {
  bool hazard = written_since_barrier_.count(buffer) ||
                (write && read_since_barrier_.count(buffer));
  if (hazard) barrier();
  (write ? written_since_barrier_ : read_since_barrier_).insert(buffer);
}

void CommandStream::barrier() {
  memory_barrier(current());
  written_since_barrier_.clear();
  read_since_barrier_.clear();
}

VkDescriptorSet CommandStream::allocate_set(VkDescriptorSetLayout layout) {
  while (true) {
    if (active_pool_ == pools_.size()) {
      VkDescriptorPoolSize sizes[] = {
          {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * 8},
          {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, kSetsPerPool * 2},
      };
      VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
      info.maxSets = kSetsPerPool;
      info.poolSizeCount = 2;
      info.pPoolSizes = sizes;
      VkDescriptorPool pool = VK_NULL_HANDLE;
      VK_CHECK(vkCreateDescriptorPool(device_.handle(), &info, nullptr, &pool));
      pools_.push_back(pool);
    }
    VkDescriptorSetAllocateInfo alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    alloc.descriptorPool = pools_[active_pool_];
    alloc.descriptorSetCount = 1;
    alloc.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    VkResult result = vkAllocateDescriptorSets(device_.handle(), &alloc, &set);
    if (result == VK_SUCCESS) return set;
    if (result != VK_ERROR_OUT_OF_POOL_MEMORY && result != VK_ERROR_FRAGMENTED_POOL)
      VK_CHECK(result);
    ++active_pool_;
  }
}

void CommandStream::dispatch(const Kernel& kernel, std::span<const BufferRange> bindings,
                             const void* push_constants, uint32_t push_bytes,
                             uint32_t groups_x, uint32_t groups_y, uint32_t groups_z,
                             const char* label, OpCost cost) {
  const KernelDesc& desc = kernel.desc();
  const DeviceInfo& info = device_.info();
  if (bindings.size() != desc.bindings.size())
    fail(ErrorCode::kInternal, "kernel {}: {} bindings given, {} declared", kernel.name(),
         bindings.size(), desc.bindings.size());
  if (push_bytes != desc.push_constant_bytes)
    fail(ErrorCode::kInternal, "kernel {}: {} push-constant bytes given, {} declared",
         kernel.name(), push_bytes, desc.push_constant_bytes);
  if (groups_x == 0 || groups_y == 0 || groups_z == 0) return;
  if (groups_x > info.max_workgroup_count[0] || groups_y > info.max_workgroup_count[1] ||
      groups_z > info.max_workgroup_count[2])
    fail(ErrorCode::kInternal, "kernel {}: {}x{}x{} workgroups exceed the device limit",
         kernel.name(), groups_x, groups_y, groups_z);

  if (recording_ && dispatches_in_batch_ >= options_.max_dispatches_per_submit)
    submit_current();
  VkCommandBuffer command_buffer = current();

  uint32_t index = 0;
  for (const BufferRange& binding : bindings) {
    if (!binding.buffer || !binding.buffer->valid())
      fail(ErrorCode::kInternal, "kernel {}: binding {} has no buffer", kernel.name(), index);
    note_access(binding.buffer->handle(), (desc.written_bindings >> index) & 1u);
    ++index;
  }

  VkDescriptorSet set = allocate_set(kernel.set_layout());
  std::vector<VkDescriptorBufferInfo> buffer_infos(bindings.size());
  std::vector<VkBufferView> views(bindings.size());
  std::vector<VkWriteDescriptorSet> writes(bindings.size());
  index = 0;
  for (const BufferRange& binding : bindings) {
    uint64_t range = binding.range == VK_WHOLE_SIZE ? binding.buffer->size() - binding.offset
                                                    : binding.range;
    VkWriteDescriptorSet& write = writes[index];
    write = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    write.dstSet = set;
    write.dstBinding = index;
    write.descriptorCount = 1;
    if (desc.bindings[index] == BindingKind::kTexel) {
      if (binding.texel_format == VK_FORMAT_UNDEFINED)
        fail(ErrorCode::kInternal, "kernel {}: binding {} needs a texel format", kernel.name(), index);
      views[index] = const_cast<Buffer*>(binding.buffer)
                         ->texel_view(binding.texel_format, binding.offset, range);
      write.descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
      write.pTexelBufferView = &views[index];
    } else {
      if (range > info.max_storage_buffer_range)
        fail(ErrorCode::kInternal, "kernel {}: binding {} spans {} bytes, over the "
             "device's maxStorageBufferRange {}; the op must split it", kernel.name(),
             index, range, info.max_storage_buffer_range);
      buffer_infos[index] = {binding.buffer->handle(), binding.offset, range};
      write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      write.pBufferInfo = &buffer_infos[index];
    }
    ++index;
  }
  vkUpdateDescriptorSets(device_.handle(), static_cast<uint32_t>(writes.size()), writes.data(),
                         0, nullptr);

  vkCmdBindPipeline(command_buffer, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.pipeline());
  vkCmdBindDescriptorSets(command_buffer, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.layout(), 0, 1,
                          &set, 0, nullptr);
  if (push_bytes)
    vkCmdPushConstants(command_buffer, kernel.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                       push_bytes, push_constants);
  vkCmdDispatch(command_buffer, groups_x, groups_y, groups_z);
  ++dispatches_in_batch_;
  ++total_dispatches_;
  if (timestamps_) {
    barrier();
    timestamps_->write(command_buffer);
    pending_labels_.emplace_back(label ? label : kernel.name(), cost);
  }
}

void CommandStream::copy(const Buffer& src, uint64_t src_offset, const Buffer& dst,
                         uint64_t dst_offset, uint64_t bytes) {
  if (bytes == 0) return;
  VkCommandBuffer command_buffer = current();
  note_access(src.handle(), false);
  note_access(dst.handle(), true);
  VkBufferCopy region{src_offset, dst_offset, bytes};
  vkCmdCopyBuffer(command_buffer, src.handle(), dst.handle(), 1, &region);
}

void CommandStream::fill(const Buffer& dst, uint64_t offset, uint64_t bytes, uint32_t value) {
  VkCommandBuffer command_buffer = current();
  note_access(dst.handle(), true);
  vkCmdFillBuffer(command_buffer, dst.handle(), offset, bytes, value);
}

void CommandStream::finish() {
  submit_current();
  VkResult first_error = VK_SUCCESS;
  for (size_t i = 0; i < active_batches_; ++i) {
    VkResult result = vkWaitForFences(device_.handle(), 1, &batches_[i].fence, VK_TRUE, UINT64_MAX);
    if (result != VK_SUCCESS && first_error == VK_SUCCESS) first_error = result;
  }
  active_batches_ = 0;
  for (size_t i = 0; i <= active_pool_ && i < pools_.size(); ++i)
    VK_CHECK(vkResetDescriptorPool(device_.handle(), pools_[i], 0));
  active_pool_ = 0;
  VK_CHECK(first_error);
  if (timestamps_) {
    timings_.clear();
    std::vector<double> ns = timestamps_->read_ns();
    for (size_t i = 0; i < pending_labels_.size() && i + 1 < ns.size(); ++i)
      timings_.push_back({pending_labels_[i].first, ns[i + 1] - ns[i], pending_labels_[i].second});
    pending_labels_.clear();
  }
}

}  // namespace vkinfer::vk
