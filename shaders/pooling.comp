#version 450
// sentence-transformers' Pooling over one sequence per workgroup: the rows
// [begin, end) that seq_bounds gives it (the attention mask: padding is never
// read), each lane owning columns c, c + WORKGROUP, ... For each column the
// lane walks the rows once for the sum and the max, then writes every
// enabled mode's value into that mode's segment of the output row (segments
// in POOL_* bit order, as Pooling.forward concatenates). Mean divides by the
// count and mean_sqrt_len by its square root, as torch does (division, not a
// reciprocal multiply). With `normalize` the squared outputs are summed over
// the workgroup and every value the lane wrote is divided by
// max(sqrt(sum), 1e-12): torch.nn.functional.normalize(p=2, eps=1e-12).
// A lane re-reads only what it wrote itself, so no barrier guards y.
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;

#include "params/pooling.h"
#include "common/row_reduce.glsl"

layout(push_constant) uniform PushConstants { POOLING_PARAMS_FIELDS } pc;

layout(std430, binding = 0) readonly buffer XBuffer { float x_data[]; };
layout(std430, binding = 1) readonly buffer BoundsBuffer { uint bounds[]; };  // [batch][2]
layout(std430, binding = 2) buffer YBuffer { float y_data[]; };

void main() {
  const uint seq = row_of_workgroup();
  if (seq >= pc.batch) return;  // uniform over the workgroup
  const uint lane = gl_LocalInvocationID.x;
  const uint begin = bounds[2u * seq];
  const uint end = max(bounds[2u * seq + 1u], begin);
  // torch.clamp(sum_mask, min=1e-9): an empty sequence divides by 1e-9.
  const float count = max(float(end - begin), 1e-9);
  const uint x_base = pc.x_offset + seq * pc.rows_per_seq * pc.x_stride;
  const uint y_base = pc.y_offset + seq * pc.y_stride;

  float squares = 0.0;
  for (uint c = lane; c < pc.N; c += WORKGROUP) {
    float sum = 0.0;
    float top = -3.4028234663852886e38;
    for (uint t = begin; t < end; ++t) {
      const float v = x_data[x_base + t * pc.x_stride + c];
      sum += v;
      top = max(top, v);
    }
    uint segment = 0u;
    for (uint bit = 1u; bit <= POOL_MEAN_SQRT_LEN; bit <<= 1u) {
      if ((pc.modes & bit) == 0u) continue;
      float v;
      if (bit == POOL_CLS) v = x_data[x_base + begin * pc.x_stride + c];
      else if (bit == POOL_MAX) v = top;
      else if (bit == POOL_MEAN) v = sum / count;
      else v = sum / sqrt(count);
      y_data[y_base + segment * pc.N + c] = v;
      squares += v * v;
      ++segment;
    }
  }
  if (pc.normalize == 0u) return;  // uniform: a push constant

  const float norm = sqrt(row_sum(squares));
  const float denominator = max(norm, 1e-12);
  const uint segments = bitCount(pc.modes & POOL_ALL_MODES);
  for (uint c = lane; c < pc.N; c += WORKGROUP)
    for (uint s = 0u; s < segments; ++s) {
      const uint at = y_base + s * pc.N + c;
      y_data[at] = y_data[at] / denominator;
    }
}
