#include "engine/ops/norm.h"

#include <algorithm>
#include <array>

#include "engine/core/error.h"
#include "engine/vk/device.h"
#include "shaders/params/norm.h"

namespace vkinfer::ops {
namespace {

struct RowSpec {
  uint32_t workgroup;
};

}  // namespace

void norm(vk::CommandStream& stream, const NormArgs& args, const ReducePolicy& policy) {
  if (!args.x || !args.y) fail(ErrorCode::kInternal, "norm: x and y are required");
  if (args.M == 0) return;
  if (args.N <= 0) fail(ErrorCode::kInternal, "norm: N must be positive, got {}", args.N);
  vk::Device& device = stream.device();
  const vk::DeviceInfo& info = device.info();
  const bool subgroup = policy.subgroup && info.enabled.subgroup_arithmetic;

  // Texel reads: vec4-aligned rows and vectors inside the texel limit, and no
  // sum_out (its later passes read back what the first one stored).
  const bool texel = policy.texel_rows && info.enabled.texel_buffers && !args.sum_out &&
                     vec4_texel_readable(info, args.x) && vec4_texel_readable(info, args.residual) &&
                     vec4_texel_readable(info, args.gamma) && vec4_texel_readable(info, args.beta);
  vk::KernelDesc desc;
  if (texel)
    desc.shader = subgroup ? ShaderId::norm_subgroup_texel : ShaderId::norm_shared_texel;
  else
    desc.shader = subgroup ? ShaderId::norm_subgroup : ShaderId::norm_shared;
  desc.bindings.assign(6, vk::BindingKind::kStorage);
  if (texel) desc.bindings.insert(desc.bindings.end(), 4, vk::BindingKind::kTexel);
  // sum_out is marked written only when bound, so the shared dummy buffer
  // never looks written and never forces barriers between unrelated ops.
  desc.written_bindings = (1u << 5) | (args.sum_out ? 1u << 2 : 0u);
  desc.push_constant_bytes = sizeof(params::NormParams);
  const RowSpec spec{subgroup ? info.subgroup_size : policy.workgroup};
  desc.spec = vk::spec_values(spec);
  desc.local_size = {spec.workgroup, 1, 1};
  const vk::Kernel& kernel = device.kernel(desc);
  const vk::Buffer& dummy = device.dummy_buffer();

  params::NormParams p{};
  p.M = static_cast<uint32_t>(args.M);
  p.N = static_cast<uint32_t>(args.N);
  p.x_offset = args.x.offset;
  p.x_stride = args.x.stride;
  p.y_offset = args.y.offset;
  p.y_stride = args.y.stride;
  p.eps = args.eps;
  if (args.rms) p.flags |= NORM_FLAG_RMS;
  if (args.residual) {
    p.flags |= NORM_FLAG_RESIDUAL;
    p.r_offset = args.residual.offset;
    p.r_stride = args.residual.stride;
  }
  if (args.sum_out) {
    p.flags |= NORM_FLAG_SUM_OUT;
    p.s_offset = args.sum_out.offset;
    p.s_stride = args.sum_out.stride;
  }
  if (args.gamma) {
    p.flags |= NORM_FLAG_GAMMA;
    p.gamma_offset = args.gamma.offset;
  }
  if (args.beta) {
    p.flags |= NORM_FLAG_BETA;
    p.beta_offset = args.beta.offset;
  }
  const uint32_t groups_x = static_cast<uint32_t>(
      std::min<int64_t>(args.M, info.max_workgroup_count[0]));
  const uint32_t groups_y = static_cast<uint32_t>((args.M + groups_x - 1) / groups_x);
  const double elements = double(args.M) * args.N;
  vk::OpCost cost{4.0 * elements * (args.residual ? 3 : 2) + (args.sum_out ? 4.0 * elements : 0),
                  elements * 6};
  const vk::Buffer& residual = args.residual ? *args.residual.buffer : dummy;
  const vk::Buffer& gamma = args.gamma ? *args.gamma.buffer : dummy;
  const vk::Buffer& beta = args.beta ? *args.beta.buffer : dummy;
  // The texel variant binds x, r, gamma and beta again as vec4 views.
  std::array<vk::BufferRange, 10> bindings{*args.x.buffer, residual, args.sum_out ? *args.sum_out.buffer : dummy,
                                           gamma, beta, *args.y.buffer, *args.x.buffer, residual, gamma, beta};
  for (size_t i = 6; i < bindings.size(); ++i) bindings[i].texel_format = VK_FORMAT_R32G32B32A32_SFLOAT;
  stream.dispatch(kernel, std::span<const vk::BufferRange>(bindings.data(), texel ? 10 : 6), p, groups_x,
                  groups_y, 1, args.rms ? "rms_norm" : "layer_norm", cost);
}

}  // namespace vkinfer::ops
