#version 450
// Rotary position embedding in place on x rows [M, >= num_heads*head_dim]
// (the q|k|v row of a fused projection: only the first num_heads heads turn).
// Only the first rotary_dim dims of each head rotate (partial rotary, NeoX,
// Phi). Pairs are (i, i + rotary_dim/2) for HF rotate_half (Llama, NeoX) or
// (2i, 2i+1) for GPT-J's rotate_every_two. One invocation per pair.
//
// The angle follows HF in fp32: inv_freq = theta^(-2i/rotary_dim), angle =
// (float(position) / position_divisor) * inv_freq, one fp32 rounding each
// (the divisor is rope_scaling's linear factor, 1 otherwise). GLSL only bounds cos/sin
// error on [-pi, pi], and angles reach ~2000 rad at position 2048, so the
// fp32 angle (taken as exact, as torch's cos does) is first reduced by 2*pi
// split into three parts (Cody-Waite): k * kTwoPi1 is exact for k < 2^16.
// (lavapipe reduces internally too, so there both give 1.2e-4 max error at
// positions < 2048: one ulp of an fp32 angle in [1024, 2048), HF's own
// quantization; the reduction keeps other drivers to the same.)
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;

#include "params/rotary.h"

layout(push_constant) uniform PushConstants { ROTARY_PARAMS_FIELDS } pc;

layout(std430, binding = 0) buffer XBuffer { float x_data[]; };
layout(std430, binding = 1) readonly buffer PositionBuffer { uint positions[]; };

const float kInvTwoPi = 0.15915494309189535;
const float kTwoPi1 = 6.28125;                   // 8 significant bits
const float kTwoPi2 = 1.9353071693331003e-3;     // next 24 bits (exact fp32)
const float kTwoPi3 = 1.0253131677018246e-11;    // the rest

// Llama 3.1's rope_scaling ("llama3"), as transformers'
// _compute_llama3_parameters computes it in fp32: wavelengths longer than
// original_max / low_freq_factor are divided by the factor, shorter than
// original_max / high_freq_factor kept, and the band between blended.
// torch divides a scalar by a tensor as reciprocal * scalar; so do we.
float llama3_inv_freq(float inv_freq) {
  precise float wavelen = (1.0 / inv_freq) * 6.2831854820251465;  // fp32(2 pi)
  if (wavelen > pc.low_freq_wavelen) return inv_freq / pc.llama3_factor;
  if (wavelen < pc.high_freq_wavelen) return inv_freq;
  precise float smooth_factor = ((1.0 / wavelen) * pc.original_max_positions - pc.low_freq_factor) /
                         (pc.high_freq_factor - pc.low_freq_factor);
  precise float blended = (1.0 - smooth_factor) * inv_freq / pc.llama3_factor + smooth_factor * inv_freq;
  return blended;
}

void main() {
  const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  const uint index = group * WORKGROUP + gl_LocalInvocationID.x;
  const uint half_dim = pc.rotary_dim / 2u;
  if (index >= pc.M * pc.num_heads * half_dim) return;
  const uint pair = index % half_dim;
  const uint head = (index / half_dim) % pc.num_heads;
  const uint row = index / (half_dim * pc.num_heads);

  // theta^(-e) = exp2(-e * log2(theta)); log2(theta) comes from the host in
  // double precision as hi + lo so the product loses nothing before exp2.
  const uint pos_at = pc.pos_offset + row * pc.pos_stride;
  float log2_hi = pc.log2_theta_hi, log2_lo = pc.log2_theta_lo;
  if ((pc.flags & ROTARY_FLAG_ROW_THETA) != 0u) {
    log2_hi = uintBitsToFloat(positions[pos_at + 1u]);
    log2_lo = uintBitsToFloat(positions[pos_at + 2u]);
  }
  precise float e = float(2u * pair) / float(pc.rotary_dim);
  precise float exponent = e * log2_hi + e * log2_lo;
  float inv_freq = exp2(-exponent);
  if ((pc.flags & ROTARY_FLAG_LLAMA3) != 0u) inv_freq = llama3_inv_freq(inv_freq);
  // Linear rope_scaling divides the fp32 position first, as HF does.
  precise float position = float(positions[pos_at]) / pc.position_divisor;
  precise float angle = position * inv_freq;

  const float k = roundEven(angle * kInvTwoPi);
  precise float reduced = ((angle - k * kTwoPi1) - k * kTwoPi2) - k * kTwoPi3;
  const float c = cos(reduced), s = sin(reduced);

  const bool interleaved = (pc.flags & ROTARY_FLAG_INTERLEAVED) != 0u;
  const uint base = pc.x_offset + row * pc.x_stride + head * pc.head_dim;
  const uint i0 = base + (interleaved ? 2u * pair : pair);
  const uint i1 = interleaved ? i0 + 1u : i0 + half_dim;
  const float a = x_data[i0], b = x_data[i1];
  x_data[i0] = a * c - b * s;
  x_data[i1] = b * c + a * s;
}
