#include "engine/ops/softmax.h"

#include <algorithm>
#include <array>

#include "engine/core/error.h"
#include "engine/vk/device.h"
#include "shaders/params/softmax.h"

namespace vkinfer::ops {
namespace {

struct RowSpec {
  uint32_t workgroup;
};

}  // namespace

void softmax(vk::CommandStream& stream, const SoftmaxArgs& args, const ReducePolicy& policy) {
  if (!args.x || !args.y) fail(ErrorCode::kInternal, "softmax: x and y are required");
  if (args.M == 0) return;
  if (args.N <= 0) fail(ErrorCode::kInternal, "softmax: N must be positive, got {}", args.N);
  vk::Device& device = stream.device();
  const vk::DeviceInfo& info = device.info();
  const bool subgroup = policy.subgroup && info.enabled.subgroup_arithmetic;

  // Texel reads need vec4-aligned rows inside the device's texel limit.
  const bool texel = policy.texel_rows && info.enabled.texel_buffers && vec4_texel_readable(info, args.x);
  vk::KernelDesc desc;
  if (texel)
    desc.shader = subgroup ? ShaderId::softmax_subgroup_texel : ShaderId::softmax_shared_texel;
  else
    desc.shader = subgroup ? ShaderId::softmax_subgroup : ShaderId::softmax_shared;
  desc.bindings.assign(3, vk::BindingKind::kStorage);
  if (texel) desc.bindings.push_back(vk::BindingKind::kTexel);
  desc.written_bindings = 1u << 2;
  desc.push_constant_bytes = sizeof(params::SoftmaxParams);
  const RowSpec spec{subgroup ? info.subgroup_size : policy.workgroup};
  desc.spec = vk::spec_values(spec);
  desc.local_size = {spec.workgroup, 1, 1};
  const vk::Kernel& kernel = device.kernel(desc);

  params::SoftmaxParams p{};
  p.M = static_cast<uint32_t>(args.M);
  p.N = static_cast<uint32_t>(args.N);
  p.x_offset = args.x.offset;
  p.x_stride = args.x.stride;
  p.y_offset = args.y.offset;
  p.y_stride = args.y.stride;
  p.scale = args.scale;
  if (args.mask) {
    p.flags |= SOFTMAX_FLAG_MASK;
    p.mask_offset = args.mask.offset;
    p.mask_stride = args.mask.stride;
  }
  const uint32_t groups_x = static_cast<uint32_t>(
      std::min<int64_t>(args.M, info.max_workgroup_count[0]));
  const uint32_t groups_y = static_cast<uint32_t>((args.M + groups_x - 1) / groups_x);
  const double elements = double(args.M) * args.N;
  std::array<vk::BufferRange, 4> bindings{
      *args.x.buffer, args.mask ? *args.mask.buffer : device.dummy_buffer(), *args.y.buffer, *args.x.buffer};
  bindings[3].texel_format = VK_FORMAT_R32G32B32A32_SFLOAT;
  stream.dispatch(kernel, std::span<const vk::BufferRange>(bindings.data(), texel ? 4 : 3),
                  p, groups_x, groups_y, 1, "softmax",
                  vk::OpCost{4.0 * elements * (args.mask ? 3 : 2), elements * 5});
}

}  // namespace vkinfer::ops
