#version 450
// Row softmax of scale * x + mask, one workgroup per row, numerically stable
// (max subtracted first). A row whose every entry is -inf (fully masked)
// gives zeros instead of the 0/0 NaNs of the textbook formula. Each element
// is read and written by the same lane, so y may alias x.
// X_TEXEL reads x as vec4 texels (offset and stride multiples of 4): CPU
// drivers gather texels but load storage buffers lane by lane; prefill
// attention's probabilities took 14% of a 512-token GPT-2 prefill that way.
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

#define kNegInf uintBitsToFloat(0xff800000u)

#ifdef X_TEXEL
layout(binding = 3) uniform samplerBuffer x_tex;
const uint WIDTH = 4u;  // elements per read
// Elements 4*quad.. of the row; -inf past N (the next row's, or zeros).
vec4 logits(uint row, uint quad) {
  vec4 v = pc.scale * texelFetch(x_tex, int((pc.x_offset + row * pc.x_stride) / 4u + quad));
  const uvec4 index = uvec4(4u * quad) + uvec4(0u, 1u, 2u, 3u);
  if ((pc.flags & SOFTMAX_FLAG_MASK) != 0u)
    for (uint c = 0u; c < 4u; ++c)
      v[c] += mask_data[pc.mask_offset + row * pc.mask_stride + min(index[c], pc.N - 1u)];
  return mix(v, vec4(kNegInf), greaterThanEqual(index, uvec4(pc.N)));
}
#else
const uint WIDTH = 1u;
vec4 logits(uint row, uint i) {
  float v = pc.scale * x_data[pc.x_offset + row * pc.x_stride + i];
  if ((pc.flags & SOFTMAX_FLAG_MASK) != 0u) v += mask_data[pc.mask_offset + row * pc.mask_stride + i];
  return vec4(v, kNegInf, kNegInf, kNegInf);
}
#endif

void main() {
  const uint row = row_of_workgroup();
  if (row >= pc.M) return;  // uniform over the workgroup
  const uint lane = gl_LocalInvocationID.x;
  const uint y_base = pc.y_offset + row * pc.y_stride;
  // Reads of WIDTH elements: lane `lane` takes reads lane, lane + WORKGROUP, ...
  const uint reads = (pc.N + WIDTH - 1u) / WIDTH;

  float local_max = kNegInf;
  for (uint r = lane; r < reads; r += WORKGROUP) {
    const vec4 v = logits(row, r);
    local_max = max(local_max, max(max(v.x, v.y), max(v.z, v.w)));
  }
  const float row_top = row_max(local_max);
  if (row_top == kNegInf) {  // uniform: every lane holds the same row_top
    for (uint i = lane; i < pc.N; i += WORKGROUP) y_data[y_base + i] = 0.0;
    return;
  }

  float acc = 0.0;
  for (uint r = lane; r < reads; r += WORKGROUP) {
    const vec4 e = exp(logits(row, r) - row_top);
    acc += (e.x + e.y) + (e.z + e.w);
  }
  const float inv_total = 1.0 / row_sum(acc);

  for (uint r = lane; r < reads; r += WORKGROUP) {
    const vec4 p = exp(logits(row, r) - row_top) * inv_total;
    for (uint c = 0u; c < WIDTH; ++c)
      if (WIDTH * r + c < pc.N) y_data[y_base + WIDTH * r + c] = p[c];
  }
}
