#version 450
// Row softmax of scale * x + mask, one workgroup per row, numerically stable
// (max subtracted first). A row whose every entry is -inf (fully masked)
// gives zeros instead of the 0/0 NaNs of the textbook formula. Each element
// is read and written by the same lane, so y may alias x.
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;

#include "params/softmax.h"
#include "common/row_reduce.glsl"

layout(push_constant) uniform PushConstants { SOFTMAX_PARAMS_FIELDS } pc;

layout(std430, binding = 0) readonly buffer XBuffer { float x_data[]; };
layout(std430, binding = 1) readonly buffer MaskBuffer { float mask_data[]; };
layout(std430, binding = 2) writeonly buffer YBuffer { float y_data[]; };

float logit(uint row, uint i) {
  float v = pc.scale * x_data[pc.x_offset + row * pc.x_stride + i];
  if ((pc.flags & SOFTMAX_FLAG_MASK) != 0u) v += mask_data[pc.mask_offset + row * pc.mask_stride + i];
  return v;
}

void main() {
  const uint row = row_of_workgroup();
  if (row >= pc.M) return;  // uniform over the workgroup
  const uint lane = gl_LocalInvocationID.x;
  const uint y_base = pc.y_offset + row * pc.y_stride;
  const float kNegInf = uintBitsToFloat(0xff800000u);

  float local_max = kNegInf;
  for (uint i = lane; i < pc.N; i += WORKGROUP) local_max = max(local_max, logit(row, i));
  const float row_top = row_max(local_max);
  if (row_top == kNegInf) {  // uniform: every lane holds the same row_top
    for (uint i = lane; i < pc.N; i += WORKGROUP) y_data[y_base + i] = 0.0;
    return;
  }

  float acc = 0.0;
  for (uint i = lane; i < pc.N; i += WORKGROUP) acc += exp(logit(row, i) - row_top);
  const float inv_total = 1.0 / row_sum(acc);

  for (uint i = lane; i < pc.N; i += WORKGROUP)
    y_data[y_base + i] = exp(logit(row, i) - row_top) * inv_total;
}
