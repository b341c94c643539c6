#version 450
// torch.argmax per row: the first index of the maximum, NaN counting as the
// largest value (so the first NaN wins, as in torch). Values are mapped to
// order-preserving uint keys (NaN -> max key, -0 -> +0 so ties across the
// sign of zero keep the lower index); the reduction takes the largest key,
// then the smallest index among the lanes holding it.
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;

#include "params/argmax.h"

layout(push_constant) uniform PushConstants { ARGMAX_PARAMS_FIELDS } pc;

layout(std430, binding = 0) readonly buffer XBuffer { float x_data[]; };
layout(std430, binding = 1) writeonly buffer OutBuffer { uint out_ids[]; };

uint order_key(float v) {
  if (isnan(v)) return 0xffffffffu;
  if (v == 0.0) v = 0.0;
  uint bits = floatBitsToUint(v);
  return (bits & 0x80000000u) != 0u ? ~bits : bits | 0x80000000u;
}

#ifndef SUBGROUP
shared uint scratch_key[WORKGROUP];
shared uint scratch_index[WORKGROUP];
#endif

void main() {
  const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= pc.M) return;  // uniform over the workgroup
  const uint lane = gl_LocalInvocationID.x;
  const uint base = pc.x_offset + row * pc.x_stride;

  // Each lane scans increasing indices, so a strict > keeps its first maximum.
  uint best_key = 0u, best_index = 0xffffffffu;
  for (uint i = lane; i < pc.N; i += WORKGROUP) {
    uint key = order_key(x_data[base + i]);
    if (key > best_key || best_index == 0xffffffffu) { best_key = key; best_index = i; }
  }

#ifdef SUBGROUP
  const uint top = subgroupMax(best_key);
  const uint winner = subgroupMin(best_key == top ? best_index : 0xffffffffu);
#else
  scratch_key[lane] = best_key;
  scratch_index[lane] = best_index;
  barrier();
  uint p = 1u;
  while (p < WORKGROUP) p <<= 1u;
  for (uint s = p >> 1u; s > 0u; s >>= 1u) {
    if (lane < s && lane + s < WORKGROUP) {
      uint k2 = scratch_key[lane + s], i2 = scratch_index[lane + s];
      uint k1 = scratch_key[lane], i1 = scratch_index[lane];
      if (k2 > k1 || (k2 == k1 && i2 < i1)) {
        scratch_key[lane] = k2;
        scratch_index[lane] = i2;
      }
    }
    barrier();
  }
  const uint winner = scratch_index[0];
#endif
  if (lane == 0u) out_ids[pc.out_offset + row] = winner;
}
