#version 450
// Prefill attention as two register-blocked GEMMs (see matmul_tiled.comp)
// with a row softmax between them, for blocks of many query rows:
//   SCORES: S[z][i][j] = scale * q(i) . k(j), or -inf where key j is hidden
//           from row i (before the sequence's first key, after its causal or
//           padded end). Each invocation owns TILE_M rows x TILE_N keys.
//   MIX:    O[i][d] = sum_j P[z][i][j] v(j)[d] over the keys visible to the
//           tile's rows. Each invocation owns TILE_M rows x TILE_N dims.
// z = sequence * heads + head. The fused kernel (attention.comp) reads every
// K and V row once per query row; here a K or V texel feeds TILE_M rows, which
// on lavapipe is what makes long prefills fast.
// Everything is read through vec4 texel views, so head_dim, offsets and
// strides are multiples of 4 (attention.cpp checks).
#extension GL_GOOGLE_include_directive : require
#include "params/attention.h"

layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 0) const uint LOCAL_N = 8;
layout(constant_id = 1) const uint LOCAL_M = 1;
layout(constant_id = 2) const uint TILE_N = 8;
layout(constant_id = 3) const uint TILE_M = 8;

layout(push_constant) uniform PushConstants { ATTENTION_GEMM_PARAMS_FIELDS } pc;
// SCORES: a = Q rows, b = K rows. MIX: a = P rows, b = V rows.
layout(binding = 0) uniform samplerBuffer a_tex;
layout(binding = 1) uniform samplerBuffer b_tex;
layout(std430, binding = 2) readonly buffer SeqBuffer { uint seq_bounds[]; };  // [B][2]
layout(std430, binding = 3) writeonly buffer OutBuffer { float out_data[]; };
layout(std430, binding = 4) readonly buffer PageTable { uint page_table[]; };

#include "common/kv_pages.glsl"

float acc[TILE_M][TILE_N];

#ifdef MIX
// Keys 4*quad..4*quad+3 of V weighted by the tile's P rows into acc. TAIL
// (the last, partial quad) clamps key rows past key_end and drops their P
// with a select: V there may hold anything, and 0 * NaN is NaN.
#define ACCUMULATE_QUAD(quad, TAIL)                                                        \
  {                                                                                      \
    vec4 v[4][VEC];                                                                      \
    /* A quad never straddles pages (pages hold a multiple of 4 positions). */           \
    const uint quad_base = (pc.kv_offset + kv_index(seq, kv_head, 4u * (quad)) + n0) / 4u; \
    for (uint c = 0u; c < 4u; ++c) {                                                     \
      const uint key = TAIL ? min(4u * (quad) + c, key_end - 1u) : 4u * (quad) + c;      \
      const uint v_base = quad_base + (key - 4u * (quad)) * (pc.kv_pos_stride / 4u);       \
      for (uint e = 0u; e < VEC; ++e) v[c][e] = texelFetch(b_tex, int(v_base + e));       \
    }                                                                                    \
    const bvec4 live = lessThan(uvec4(0u, 1u, 2u, 3u) + 4u * (quad), uvec4(key_end));   \
    for (uint i = 0u; i < TILE_M; ++i) {                                                 \
      const vec4 raw = texelFetch(a_tex, int(p_base[i] + (quad)));                       \
      const vec4 p = TAIL ? mix(vec4(0.0), raw, live) : raw;                              \
      for (uint e = 0u; e < VEC; ++e) {                                                  \
        const vec4 sum = p.x * v[0][e] + p.y * v[1][e] + p.z * v[2][e] + p.w * v[3][e];  \
        for (uint c = 0u; c < 4u; ++c) acc[i][4u * e + c] += sum[c];                      \
      }                                                                                  \
    }                                                                                    \
  }
#endif

void main() {
  const uint z = gl_WorkGroupID.z;
  const uint seq = z / pc.heads;
  const uint head = z % pc.heads;
  const uint kv_head = head / pc.group;
  const uint n0 = (gl_WorkGroupID.x * LOCAL_N + gl_LocalInvocationID.x) * TILE_N;
  const uint local_m = LOCAL_M == 1u ? 0u : gl_LocalInvocationID.y;
  const uint i0 = (gl_WorkGroupID.y * LOCAL_M + local_m) * TILE_M;
  if (i0 >= pc.rows) return;
  const uint last_row = min(i0 + TILE_M, pc.rows) - 1u;
  const uint key_begin = seq_bounds[2u * seq];
  const uint seq_end = seq_bounds[2u * seq + 1u];
  // Keys row i may see end here: its causal limit or the sequence's end.
#define KEY_END(i) min(pc.keys, pc.causal != 0u ? pc.past + pc.row0 + (i) + 1u : seq_end)
  // ... and begin at the sequence's first key or, under a sliding window,
  // `window` positions before the row's own.
#define KEY_BEGIN(i) (pc.window != 0u && pc.past + pc.row0 + (i) > pc.window \
                          ? max(key_begin, pc.past + pc.row0 + (i) - pc.window) : key_begin)
  for (uint i = 0u; i < TILE_M; ++i)
    for (uint n = 0u; n < TILE_N; ++n) acc[i][n] = 0.0;

#ifdef SCORES
  if (n0 >= pc.keys) return;
  // A tile wholly hidden from its rows (above the causal diagonal) is written
  // as -inf without computing it.
  const bool visible = n0 < KEY_END(last_row) && n0 + TILE_N > KEY_BEGIN(i0);
  if (visible) {
    uint q_base[TILE_M], k_base[TILE_N];
    for (uint i = 0u; i < TILE_M; ++i)
      q_base[i] = (pc.q_offset + (seq * pc.rows_per_seq + pc.row0 + min(i0 + i, pc.rows - 1u)) * pc.q_stride +
                   head * pc.head_dim) / 4u;
    // Keys past the last one read it again; their scores are not stored.
    for (uint n = 0u; n < TILE_N; ++n) k_base[n] = (pc.kv_offset + kv_index(seq, kv_head, min(n0 + n, pc.keys - 1u))) / 4u;
    for (uint d = 0u; d < pc.head_dim / 4u; ++d) {
      vec4 k[TILE_N];
      for (uint n = 0u; n < TILE_N; ++n) k[n] = texelFetch(b_tex, int(k_base[n] + d));
      for (uint i = 0u; i < TILE_M; ++i) {
        const vec4 q = texelFetch(a_tex, int(q_base[i] + d));
        for (uint n = 0u; n < TILE_N; ++n) acc[i][n] += dot(q, k[n]);
      }
    }
  }
  const float kNegInf = uintBitsToFloat(0xff800000u);
  for (uint i = 0u; i < TILE_M; ++i) {
    if (i0 + i >= pc.rows) break;
    const uint key_end = KEY_END(i0 + i);
    const uint s_row = pc.s_offset + (z * pc.rows + i0 + i) * pc.s_stride;
    for (uint n = 0u; n < TILE_N; ++n) {
      const uint j = n0 + n;
      if (j < pc.keys) out_data[s_row + j] = j >= KEY_BEGIN(i0 + i) && j < key_end ? pc.scale * acc[i][n] : kNegInf;
    }
  }
#else  // MIX
  if (n0 >= pc.head_dim) return;
  const uint VEC = TILE_N / 4u;  // texels of V per key
  const uint key_end = KEY_END(last_row);
  uint p_base[TILE_M];
  for (uint i = 0u; i < TILE_M; ++i) p_base[i] = (pc.s_offset + (z * pc.rows + min(i0 + i, pc.rows - 1u)) * pc.s_stride) / 4u;
  // P is zero outside each row's visible keys, so whole quads of keys from
  // the first visible one run without checks; only the last partial quad
  // needs them.
  const uint full_end = key_end / 4u;
  for (uint quad = key_begin / 4u; quad < full_end; ++quad) ACCUMULATE_QUAD(quad, false)
  if (key_end % 4u != 0u && key_end > key_begin) ACCUMULATE_QUAD(full_end, true)
  for (uint i = 0u; i < TILE_M; ++i) {
    if (i0 + i >= pc.rows) break;
    const uint o_row = pc.o_offset + (seq * pc.rows_per_seq + pc.row0 + i0 + i) * pc.o_stride + head * pc.head_dim;
    for (uint n = 0u; n < TILE_N; ++n)
      if (n0 + n < pc.head_dim) out_data[o_row + n0 + n] = acc[i][n];
  }
#endif
}
