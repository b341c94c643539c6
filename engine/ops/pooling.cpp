#include "engine/ops/pooling.h"

#include <algorithm>
#include <bit>

#include "engine/core/error.h"
#include "engine/vk/device.h"

namespace vkinfer::ops {
namespace {

struct RowSpec {
  uint32_t workgroup;
};

}  // namespace

int64_t pooled_width(uint32_t modes, int64_t N) {
  return static_cast<int64_t>(std::popcount(modes & POOL_ALL_MODES)) * N;
}

void pooling(vk::CommandStream& stream, const PoolingArgs& args, const ReducePolicy& policy) {
  if (!args.x || !args.y || !args.seq_bounds)
    fail(ErrorCode::kInternal, "pooling: x, y and seq_bounds are required");
  if (args.modes == 0 || (args.modes & ~POOL_ALL_MODES) != 0)
    fail(ErrorCode::kInternal, "pooling: bad mode bits {:#x}", args.modes);
  if (args.batch == 0) return;
  if (args.N <= 0 || args.rows_per_seq <= 0)
    fail(ErrorCode::kInternal, "pooling: N {} and rows_per_seq {} must be positive", args.N,
         args.rows_per_seq);
  vk::Device& device = stream.device();
  const vk::DeviceInfo& info = device.info();
  const bool subgroup = policy.subgroup && info.enabled.subgroup_arithmetic;

  vk::KernelDesc desc;
  desc.shader = subgroup ? ShaderId::pooling_subgroup : ShaderId::pooling_shared;
  desc.bindings.assign(3, vk::BindingKind::kStorage);
  desc.written_bindings = 1u << 2;
  desc.push_constant_bytes = sizeof(params::PoolingParams);
  const RowSpec spec{subgroup ? info.subgroup_size : policy.workgroup};
  desc.spec = vk::spec_values(spec);
  desc.local_size = {spec.workgroup, 1, 1};
  const vk::Kernel& kernel = device.kernel(desc);

  params::PoolingParams p{};
  p.batch = static_cast<uint32_t>(args.batch);
  p.N = static_cast<uint32_t>(args.N);
  p.rows_per_seq = static_cast<uint32_t>(args.rows_per_seq);
  p.x_offset = args.x.offset;
  p.x_stride = args.x.stride;
  p.y_offset = args.y.offset;
  p.y_stride = args.y.stride;
  p.modes = args.modes;
  p.normalize = args.normalize ? 1u : 0u;
  const uint32_t groups_x =
      static_cast<uint32_t>(std::min<int64_t>(args.batch, info.max_workgroup_count[0]));
  const uint32_t groups_y = static_cast<uint32_t>((args.batch + groups_x - 1) / groups_x);
  const double read = double(args.batch) * args.rows_per_seq * args.N;
  const double written = double(args.batch) * pooled_width(args.modes, args.N);
  stream.dispatch(kernel, {*args.x.buffer, *args.seq_bounds, *args.y.buffer}, p, groups_x, groups_y, 1,
                  "pooling", vk::OpCost{4.0 * (read + 2 * written), 2 * read + 3 * written});
}

}  // namespace vkinfer::ops
