#version 450
// LayerNorm (torch: biased variance, eps inside the sqrt) and RMSNorm (HF
// Llama: x * rsqrt(mean(x^2) + eps) * gamma), one workgroup per row, with the
// residual add fused in front: h = x + r, optionally stored to sum_out so the
// residual stream and the next layer's input come from one dispatch.
// The mean and the variance are two passes over the row (not E[x^2] - mean^2,
// which cancels catastrophically for rows with a large mean), and LayerNorm
// sums h - h[0] rather than h: for a row of 1000 +- 2 the fp32 sum of h would
// lose ~1e-4 of the mean, the shifted sum keeps it (h - h[0] is exact by
// Sterbenz when both are within a factor of 2). Every element
// is read and written by the same lane in every pass, so y may alias x and
// sum_out may alias x or r.
// X_TEXEL (no sum_out; x, r, gamma and beta at vec4-aligned offsets and
// strides) reads them as vec4 texels: CPU drivers gather texels but load
// storage buffers lane by lane, and LayerNorm took 9% of a GPT-2 prefill.
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;

#include "params/norm.h"
#include "common/row_reduce.glsl"

layout(push_constant) uniform PushConstants { NORM_PARAMS_FIELDS } pc;

layout(std430, binding = 0) readonly buffer XBuffer { float x_data[]; };
layout(std430, binding = 1) readonly buffer RBuffer { float r_data[]; };
layout(std430, binding = 2) buffer SumBuffer { float s_data[]; };  // read back in later passes
layout(std430, binding = 3) readonly buffer GammaBuffer { float gamma_data[]; };
layout(std430, binding = 4) readonly buffer BetaBuffer { float beta_data[]; };
layout(std430, binding = 5) writeonly buffer YBuffer { float y_data[]; };

float input_h(uint row, uint i) {
  float h = x_data[pc.x_offset + row * pc.x_stride + i];
  if ((pc.flags & NORM_FLAG_RESIDUAL) != 0u) h += r_data[pc.r_offset + row * pc.r_stride + i];
  return h;
}

// Reads of WIDTH elements: h, gamma and beta of elements WIDTH*r.., with
// `live` false past N (those components are never summed or stored).
#ifdef X_TEXEL
layout(binding = 6) uniform samplerBuffer x_tex;
layout(binding = 7) uniform samplerBuffer r_tex;
layout(binding = 8) uniform samplerBuffer gamma_tex;
layout(binding = 9) uniform samplerBuffer beta_tex;
const uint WIDTH = 4u;
bvec4 live(uint r) { return lessThan(uvec4(4u * r) + uvec4(0u, 1u, 2u, 3u), uvec4(pc.N)); }
vec4 stored_h(uint row, uint r) {
  vec4 h = texelFetch(x_tex, int((pc.x_offset + row * pc.x_stride) / 4u + r));
  if ((pc.flags & NORM_FLAG_RESIDUAL) != 0u) h += texelFetch(r_tex, int((pc.r_offset + row * pc.r_stride) / 4u + r));
  return h;
}
vec4 gamma_at(uint r) { return texelFetch(gamma_tex, int(pc.gamma_offset / 4u + r)); }
vec4 beta_at(uint r) { return texelFetch(beta_tex, int(pc.beta_offset / 4u + r)); }
#else
const uint WIDTH = 1u;
bvec4 live(uint r) { return bvec4(true, false, false, false); }
// After the first pass h lives in sum_out when there is one (x may be it).
vec4 stored_h(uint row, uint i) {
  if ((pc.flags & NORM_FLAG_SUM_OUT) != 0u) return vec4(s_data[pc.s_offset + row * pc.s_stride + i]);
  return vec4(input_h(row, i));
}
vec4 gamma_at(uint i) { return vec4(gamma_data[pc.gamma_offset + i]); }
vec4 beta_at(uint i) { return vec4(beta_data[pc.beta_offset + i]); }
#endif
// Sum of the live components (a select: dead ones may hold anything).
float live_sum(vec4 v, uint r) {
  const vec4 kept = mix(vec4(0.0), v, live(r));
  return (kept.x + kept.y) + (kept.z + kept.w);
}

void main() {
  const uint row = row_of_workgroup();
  if (row >= pc.M) return;  // uniform over the workgroup
  const uint lane = gl_LocalInvocationID.x;
  const bool rms = (pc.flags & NORM_FLAG_RMS) != 0u;
  const bool keep_sum = (pc.flags & NORM_FLAG_SUM_OUT) != 0u;

  // The pivot is read by every lane before anyone may overwrite h[0]
  // through a sum_out that aliases x.
  const float pivot = rms ? 0.0 : input_h(row, 0u);
  if (keep_sum) {
    memoryBarrierBuffer();
    barrier();
  }

  const uint reads = (pc.N + WIDTH - 1u) / WIDTH;
  float acc = 0.0;
#ifdef X_TEXEL
  for (uint r = lane; r < reads; r += WORKGROUP) {
    const vec4 h = stored_h(row, r);
    acc += live_sum(rms ? h * h : h - pivot, r);
  }
#else
  for (uint i = lane; i < pc.N; i += WORKGROUP) {
    float h = input_h(row, i);
    if (keep_sum) s_data[pc.s_offset + row * pc.s_stride + i] = h;
    acc += rms ? h * h : h - pivot;
  }
#endif
  const float first = row_sum(acc) / float(pc.N);

  // LayerNorm: mean = pivot + shifted_mean, never rounded into one float.
  float shifted_mean = 0.0, variance = first;
  if (!rms) {
    shifted_mean = first;
    float acc2 = 0.0;
    for (uint r = lane; r < reads; r += WORKGROUP) {
      const vec4 d = (stored_h(row, r) - pivot) - shifted_mean;
      acc2 += live_sum(d * d, r);
    }
    variance = row_sum(acc2) / float(pc.N);
  }
  const float rstd = inversesqrt(variance + pc.eps);

  for (uint r = lane; r < reads; r += WORKGROUP) {
    vec4 v = ((stored_h(row, r) - pivot) - shifted_mean) * rstd;
    if ((pc.flags & NORM_FLAG_GAMMA) != 0u) v *= gamma_at(r);
    if ((pc.flags & NORM_FLAG_BETA) != 0u) v += beta_at(r);
    for (uint c = 0u; c < WIDTH; ++c)
      if (WIDTH * r + c < pc.N) y_data[pc.y_offset + row * pc.y_stride + WIDTH * r + c] = v[c];
  }
}
