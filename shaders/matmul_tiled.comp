#version 450
// GEMM family: Y = X.W^T for many rows of X (prefill, BERT). Register
// blocking straight from memory, no shared-memory tiles: each invocation
// owns a TILE_M x TILE_N block of outputs and streams its X rows and W rows
// in groups of 8 along K. On lavapipe this beat shared-memory tiling 3x.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 0) const uint LOCAL_N = 8;
layout(constant_id = 1) const uint LOCAL_M = 8;
layout(constant_id = 2) const uint TILE_N = 4;
layout(constant_id = 3) const uint TILE_M = 8;

#include "common/matmul_io.glsl"

void main() {
  const uint n_base = (gl_WorkGroupID.x * LOCAL_N + gl_LocalInvocationID.x) * TILE_N;
  const uint m_base = (gl_WorkGroupID.y * LOCAL_M + gl_LocalInvocationID.y) * TILE_M;
  if (n_base >= pc.N || m_base >= pc.M) return;
  const bool glu = (pc.flags & MATMUL_FLAG_GLU) != 0u;
  const uint full_groups = pc.K / 8u;
  const uint groups = (pc.K + 7u) / 8u;

  float acc[TILE_M][TILE_N];
  float acc2[TILE_M][TILE_N];
  for (uint i = 0u; i < TILE_M; ++i)
    for (uint j = 0u; j < TILE_N; ++j) { acc[i][j] = 0.0; acc2[i][j] = 0.0; }

  for (uint g = 0u; g < groups; ++g) {
    bool tail = g >= full_groups;
    vec4 wlo[TILE_N], whi[TILE_N], w2lo[TILE_N], w2hi[TILE_N];
    for (uint j = 0u; j < TILE_N; ++j) {
      uint n = min(n_base + j, pc.N - 1u);
      LOAD_W8(W_RAW, n, g, wlo[j], whi[j]);
      if (glu) { LOAD_W8(W2_RAW, n, g, w2lo[j], w2hi[j]); }
    }
    for (uint i = 0u; i < TILE_M; ++i) {
      vec4 xlo, xhi;
      load_x8(min(m_base + i, pc.M - 1u), g, tail, xlo, xhi);
      for (uint j = 0u; j < TILE_N; ++j) {
        acc[i][j] += dot(xlo, wlo[j]) + dot(xhi, whi[j]);
        if (glu) acc2[i][j] += dot(xlo, w2lo[j]) + dot(xhi, w2hi[j]);
      }
    }
  }
  for (uint i = 0u; i < TILE_M; ++i)
    for (uint j = 0u; j < TILE_N; ++j)
      if (m_base + i < pc.M && n_base + j < pc.N)
        store_output(m_base + i, n_base + j, acc[i][j], acc2[i][j]);
}
