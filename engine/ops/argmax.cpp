#include "engine/ops/argmax.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/vk/device.h"
#include "shaders/params/argmax.h"

namespace vkinfer::ops {
namespace {

struct RowSpec {
  uint32_t workgroup;
};

}  // namespace

void argmax(vk::CommandStream& stream, View x, int64_t M, int64_t N, View out_ids) {
  argmax(stream, x, M, N, out_ids, choose_policy(stream.device().info()).reduce);
}

void argmax(vk::CommandStream& stream, View x, int64_t M, int64_t N, View out_ids,
            const ReducePolicy& policy) {
  if (!x || !out_ids) fail(ErrorCode::kInternal, "argmax: x and out_ids are required");
  if (M == 0) return;
  if (N <= 0) fail(ErrorCode::kInternal, "argmax: N must be positive, got {}", N);
  vk::Device& device = stream.device();
  const vk::DeviceInfo& info = device.info();
  const bool subgroup = policy.subgroup && info.enabled.subgroup_arithmetic;

  vk::KernelDesc desc;
  desc.shader = subgroup ? ShaderId::argmax_subgroup : ShaderId::argmax_shared;
  desc.bindings.assign(2, vk::BindingKind::kStorage);
  desc.written_bindings = 1u << 1;
  desc.push_constant_bytes = sizeof(params::ArgmaxParams);
  const RowSpec spec{subgroup ? info.subgroup_size : policy.workgroup};
  desc.spec = vk::spec_values(spec);
  desc.local_size = {spec.workgroup, 1, 1};
  const vk::Kernel& kernel = device.kernel(desc);

  params::ArgmaxParams p{};
  p.M = static_cast<uint32_t>(M);
  p.N = static_cast<uint32_t>(N);
  p.x_offset = x.offset;
  p.x_stride = x.stride;
  p.out_offset = out_ids.offset;
  const uint32_t groups_x = static_cast<uint32_t>(std::min<int64_t>(M, info.max_workgroup_count[0]));
  const uint32_t groups_y = static_cast<uint32_t>((M + groups_x - 1) / groups_x);
  stream.dispatch(kernel, {*x.buffer, *out_ids.buffer}, p, groups_x, groups_y, 1, "argmax",
                  vk::OpCost{4.0 * double(M) * N, double(M) * N});
}

}  // namespace vkinfer::ops
