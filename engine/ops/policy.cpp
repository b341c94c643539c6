#include "engine/ops/policy.h"

#include <algorithm>

#include "engine/vk/device_info.h"

namespace vkinfer::ops {

KernelPolicy choose_policy(const vk::DeviceInfo& info) {
  KernelPolicy policy;
  const bool cpu_like = info.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  const bool subgroup = info.enabled.subgroup_arithmetic && info.subgroup_size >= 4 &&
                        info.subgroup_size <= 128;
  MatmulPolicy& matmul = policy.matmul;
  // CPU drivers (lavapipe, SwiftShader) stream texel buffers 2-2.7x faster
  // than storage buffers; GPUs read storage buffers at full bandwidth.
  matmul.texel_weights = info.enabled.texel_buffers && cpu_like;
  matmul.subgroup = subgroup;
  matmul.vec_workgroup = subgroup ? info.subgroup_size : (cpu_like ? 8u : 64u);
  matmul.vec_rows = cpu_like ? 4u : 2u;
  // GPUs want ~128-invocation workgroups; on lavapipe 1 and 8 measured alike.
  matmul.vec_subgroups = cpu_like ? 1u : std::max(1u, 128u / std::max(info.subgroup_size, 1u));
  // 8x4 outputs per invocation fit lavapipe's registers (8x8 spilled); GPUs
  // want more invocations with smaller blocks.
  if (cpu_like) {
    matmul.tile_local_n = 8; matmul.tile_local_m = 1; matmul.tile_n = 4; matmul.tile_m = 8;
  } else {
    matmul.tile_local_n = 16; matmul.tile_local_m = 8; matmul.tile_n = 4; matmul.tile_m = 4;
  }
  policy.reduce.subgroup = subgroup;
  policy.reduce.workgroup = subgroup ? std::max(info.subgroup_size, 32u) : 64u;
  if (cpu_like) policy.reduce.workgroup = subgroup ? info.subgroup_size : 8u;
  return policy;
}

}  // namespace vkinfer::ops
