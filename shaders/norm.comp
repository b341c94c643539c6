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

// After the first pass h lives in sum_out when there is one (x may be it).
float stored_h(uint row, uint i) {
  if ((pc.flags & NORM_FLAG_SUM_OUT) != 0u) return s_data[pc.s_offset + row * pc.s_stride + i];
  return input_h(row, i);
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

  float acc = 0.0;
  for (uint i = lane; i < pc.N; i += WORKGROUP) {
    float h = input_h(row, i);
    if (keep_sum) s_data[pc.s_offset + row * pc.s_stride + i] = h;
    acc += rms ? h * h : h - pivot;
  }
  const float first = row_sum(acc) / float(pc.N);

  // LayerNorm: mean = pivot + shifted_mean, never rounded into one float.
  float shifted_mean = 0.0, variance = first;
  if (!rms) {
    shifted_mean = first;
    float acc2 = 0.0;
    for (uint i = lane; i < pc.N; i += WORKGROUP) {
      float d = (stored_h(row, i) - pivot) - shifted_mean;
      acc2 += d * d;
    }
    variance = row_sum(acc2) / float(pc.N);
  }
  const float rstd = inversesqrt(variance + pc.eps);

  for (uint i = lane; i < pc.N; i += WORKGROUP) {
    float v = ((stored_h(row, i) - pivot) - shifted_mean) * rstd;
    if ((pc.flags & NORM_FLAG_GAMMA) != 0u) v *= gamma_data[pc.gamma_offset + i];
    if ((pc.flags & NORM_FLAG_BETA) != 0u) v += beta_data[pc.beta_offset + i];
    y_data[pc.y_offset + row * pc.y_stride + i] = v;
  }
}
