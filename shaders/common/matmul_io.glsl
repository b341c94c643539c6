// Bindings, weight loads and the fused epilogue shared by the matmul kernels.
// Weights are rows of `w_stride` elements (a multiple of 8, zero padded), read
// in groups of 8: fp32 as two vec4, fp16 as one uvec4 of packed halves that
// unpackHalf2x16 widens, so fp16 weights need no 16-bit device features.
// WEIGHT_TEXEL reads weights through uniform texel buffers, which lavapipe
// streams 2-2.7x faster than storage buffers.
#include "params/matmul.h"
#include "common/activation.glsl"

layout(push_constant) uniform PushConstants { MATMUL_PARAMS_FIELDS } pc;

layout(std430, binding = 0) readonly buffer XBuffer { float x_data[]; };
layout(std430, binding = 0) readonly buffer XBuffer4 { vec4 x_data4[]; };
#if defined(WEIGHT_TEXEL) && defined(X_TEXEL)
// CPU drivers serve texel fetches with vector gathers but storage loads lane
// by lane (Mesa 22.3's llvmpipe even when every lane reads the same address
// inside a loop: its loop counters are vectors), so activations are read
// through a texel view too. For the tiled kernel this took fp16 GEMM from
// ~30 to ~50 GFLOPS on lavapipe.
layout(binding = 6) uniform samplerBuffer x_tex;
layout(binding = 9) uniform samplerBuffer gamma_tex;
#define X4(i) texelFetch(x_tex, int(i))
#define G4(i) texelFetch(gamma_tex, int(i))
#else
layout(std430, binding = 6) readonly buffer XUnused { float x_unused[]; };
layout(std430, binding = 9) readonly buffer GammaUnused { float gamma_unused[]; };
#define X4(i) x_data4[i]
#define G4(i) gamma_data4[i]
#endif
layout(std430, binding = 7) readonly buffer GammaBuffer { float gamma_data[]; };
layout(std430, binding = 7) readonly buffer GammaBuffer4 { vec4 gamma_data4[]; };
layout(std430, binding = 8) readonly buffer NormSums { float sums_data[]; };
#if defined(WEIGHT_BLOCKS)
// Block formats (common/block_weights.glsl): quants as uvec4 at bindings
// 1-2, their scales as uints at 10-11.
#include "common/block_weights.glsl"
#if defined(WEIGHT_TEXEL)
// Scales through R32_UINT texel views too: lavapipe gathers those, where it
// loads storage words lane by lane (one load per eight weights, each lane).
layout(binding = 1) uniform usamplerBuffer w_tex;
layout(binding = 2) uniform usamplerBuffer w2_tex;
layout(binding = 10) uniform usamplerBuffer w_meta_tex;
layout(binding = 11) uniform usamplerBuffer w2_meta_tex;
#define W_RAW(i) texelFetch(w_tex, int(i))
#define W2_RAW(i) texelFetch(w2_tex, int(i))
#define W_RAW_META(i) texelFetch(w_meta_tex, int(i)).x
#define W2_RAW_META(i) texelFetch(w2_meta_tex, int(i)).x
#else
layout(std430, binding = 1) readonly buffer WBuffer { uvec4 w_data[]; };
layout(std430, binding = 2) readonly buffer W2Buffer { uvec4 w2_data[]; };
layout(std430, binding = 10) readonly buffer WMeta { uint w_meta_data[]; };
layout(std430, binding = 11) readonly buffer W2Meta { uint w2_meta_data[]; };
#define W_RAW(i) w_data[i]
#define W2_RAW(i) w2_data[i]
#define W_RAW_META(i) w_meta_data[i]
#define W2_RAW_META(i) w2_meta_data[i]
#endif
#elif defined(WEIGHT_F16) && defined(WEIGHT_TEXEL)
layout(binding = 1) uniform usamplerBuffer w_tex;
layout(binding = 2) uniform usamplerBuffer w2_tex;
#define W_RAW(i) texelFetch(w_tex, int(i))
#define W2_RAW(i) texelFetch(w2_tex, int(i))
#elif defined(WEIGHT_F16)
layout(std430, binding = 1) readonly buffer WBuffer { uvec4 w_data[]; };
layout(std430, binding = 2) readonly buffer W2Buffer { uvec4 w2_data[]; };
#define W_RAW(i) w_data[i]
#define W2_RAW(i) w2_data[i]
#elif defined(WEIGHT_TEXEL)
layout(binding = 1) uniform samplerBuffer w_tex;
layout(binding = 2) uniform samplerBuffer w2_tex;
#define W_RAW(i) texelFetch(w_tex, int(i))
#define W2_RAW(i) texelFetch(w2_tex, int(i))
#else
layout(std430, binding = 1) readonly buffer WBuffer { vec4 w_data[]; };
layout(std430, binding = 2) readonly buffer W2Buffer { vec4 w2_data[]; };
#define W_RAW(i) w_data[i]
#define W2_RAW(i) w2_data[i]
#endif
layout(std430, binding = 3) readonly buffer BiasBuffer { float bias_data[]; };
layout(std430, binding = 4) readonly buffer ResidualBuffer { float residual_data[]; };
layout(std430, binding = 5) writeonly buffer YBuffer { float y_data[]; };

// Weight rows are addressed in texels/vec4s of the bound buffer: a row starts
// at w_row_index(row), and group g (8 values of K) is LOAD_W8_AT from there.
#if defined(WEIGHT_BLOCKS)
// A row's first block; the chunk is bound whole and the rows before the
// first one computed are skipped here (pc.w_row0), since block rows are not
// a multiple of every device's binding-offset alignment.
uint w_row_index(uint row) { return (pc.w_row0 + row) * (pc.w_stride / BLOCK_ELEMENTS); }
#define LOAD_W8_AT(RAW, row_base, g, lo, hi)                                  \
  {                                                                          \
    uint block_ = (row_base) + (g) / GROUPS_PER_BLOCK;                       \
    uint sub_ = (g) % GROUPS_PER_BLOCK;                                      \
    BLOCK_LOAD8(RAW, RAW##_META, block_, sub_, lo, hi)                       \
  }
// The same group as quants and an affine map: weight = a * q + b.
#define LOAD_Q8_AT(RAW, row_base, g, qlo, qhi, a, b)                           \
  {                                                                          \
    uint block_ = (row_base) + (g) / GROUPS_PER_BLOCK;                       \
    uint sub_ = (g) % GROUPS_PER_BLOCK;                                      \
    BLOCK_AFFINE8(RAW, RAW##_META, block_, sub_, qlo, qhi, a, b)             \
  }
#elif defined(WEIGHT_F16)
uint w_row_index(uint row) { return row * (pc.w_stride / 8u); }
#define LOAD_W8_AT(RAW, row_base, g, lo, hi)                                  \
  {                                                                          \
    uvec4 packed_w = RAW((row_base) + (g));                                  \
    lo = vec4(unpackHalf2x16(packed_w.x), unpackHalf2x16(packed_w.y));       \
    hi = vec4(unpackHalf2x16(packed_w.z), unpackHalf2x16(packed_w.w));       \
  }
#else
uint w_row_index(uint row) { return row * (pc.w_stride / 4u); }
#define LOAD_W8_AT(RAW, row_base, g, lo, hi)                                  \
  {                                                                          \
    lo = RAW((row_base) + 2u * (g));                                         \
    hi = RAW((row_base) + 2u * (g) + 1u);                                    \
  }
#endif

// The first `count` of eight activations at element `base`, zeros after;
// scalar loads, for rows that are not vec4-aligned and for K's tail.
void load_x8_scalar(uint base, uint count, out vec4 lo, out vec4 hi) {
  float v[8];
  for (uint i = 0u; i < 8u; ++i) v[i] = i < count ? x_data[base + i] : 0.0;
  lo = vec4(v[0], v[1], v[2], v[3]);
  hi = vec4(v[4], v[5], v[6], v[7]);
}

// The gain's values for load_x8_scalar's, zeros after `count`.
void load_gamma8_scalar(uint base, uint count, out vec4 lo, out vec4 hi) {
  float v[8];
  for (uint i = 0u; i < 8u; ++i) v[i] = i < count ? gamma_data[pc.gamma_offset + base + i] : 0.0;
  lo = vec4(v[0], v[1], v[2], v[3]);
  hi = vec4(v[4], v[5], v[6], v[7]);
}

// NORM: a row's mean (0 for RMSNorm) and 1/sqrt(variance + eps) from the sums
// of its K values and their squares, as HF's LayerNorm (biased variance) and
// Llama's RMSNorm compute them.
vec2 norm_stats(float sum, float sum_squares, bool rms) {
  const float inv_k = 1.0 / float(pc.K);
  const float mean = rms ? 0.0 : sum * inv_k;
  const float variance = max(sum_squares * inv_k - mean * mean, 0.0);
  return vec2(mean, inversesqrt(variance + pc.norm_eps));
}

// NORM: X.(gamma*W) turned into norm(X).W: with s = X.(gamma*W) over the raw
// row, LayerNorm gives rstd * (s - mean * W.gamma) + W.beta.
void finish_norm(uint n, vec2 stats, inout float value, inout float value2, bool rms, bool glu) {
  if (rms) {
    value *= stats.y;
    value2 *= stats.y;
    return;
  }
  const uint at = pc.sums_offset + n;
  value = stats.y * (value - stats.x * sums_data[at]) + sums_data[at + pc.sums_stride];
  if (glu)
    value2 = stats.y * (value2 - stats.x * sums_data[at + 2u * pc.sums_stride]) +
             sums_data[at + 3u * pc.sums_stride];
}

// The activation and GLU are the EPILOGUE specialization constant, declared
// by the including kernel: CPU drivers run every arm of a runtime-uniform
// branch under masks, so an activation chosen by a push constant cost every
// kernel the erf, tanh and exp of all of them. Bias and residual are one
// load and add each, so they are push-constant flags (pc.flags) and do not
// multiply pipelines: the same kernel serves a projection with or without.
void store_output(uint m, uint n, float value, float value2) {
  if ((pc.flags & MATMUL_FLAG_BIAS) != 0u) value += bias_data[pc.bias_offset + n];
  value = apply_activation(value, (EPILOGUE >> MATMUL_ACT_SHIFT) & 0xffu);
  if ((EPILOGUE & MATMUL_FLAG_GLU) != 0u) value *= value2;
  if ((pc.flags & MATMUL_FLAG_RESIDUAL) != 0u)
    value += residual_data[pc.r_offset + m * pc.r_stride + n];
  y_data[pc.y_offset + m * pc.y_stride + n] = value;
}
