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
layout(constant_id = 4) const uint EPILOGUE = 0u;
// 1: the op has checked that X (and the gain) rows are vec4-aligned and K is
// a multiple of 8, so only the fast loop is compiled. The scalar path below
// is half of this kernel's code, and lavapipe JIT-compiles it at load for
// seconds (16x16 tiles: ~15 s of a ~30 s compile); real models never take it.
layout(constant_id = 5) const uint ALIGNED = 0u;

// X through a texel view where weights use them (see matmul_io.glsl).
#define X_TEXEL
#include "common/matmul_io.glsl"
const bool GLU = (EPILOGUE & MATMUL_FLAG_GLU) != 0u;
const bool NORM = (EPILOGUE & MATMUL_FLAG_NORM) != 0u;
const bool RMS = (EPILOGUE & MATMUL_FLAG_NORM_RMS) != 0u;

float acc[TILE_M][TILE_N];
// NORM: each row's sum and sum of squares; every lane reads whole X rows.
float row_sum[TILE_M];
float row_sum_squares[TILE_M];
float acc2[TILE_M][TILE_N];
uint w_row_base[TILE_N];
uint x_base[TILE_M];

// Accumulates group g (8 values of K): TILE_N weight rows against TILE_M
// activation rows read by LOAD_X (X4 pairs or guarded scalar loads); NORM
// takes the rows' statistics and scales them by the gain (LOAD_G).
#define ACCUMULATE_GROUP(g, LOAD_X, LOAD_G)                                    \
  {                                                                          \
    vec4 wlo[TILE_N], whi[TILE_N], w2lo[TILE_N], w2hi[TILE_N];               \
    for (uint j = 0u; j < TILE_N; ++j) {                                     \
      LOAD_W8_AT(W_RAW, w_row_base[j], g, wlo[j], whi[j]);                   \
      if (GLU) { LOAD_W8_AT(W2_RAW, w_row_base[j], g, w2lo[j], w2hi[j]); }   \
    }                                                                        \
    vec4 glo = vec4(1.0), ghi = vec4(1.0);                                   \
    if (NORM) LOAD_G(g, glo, ghi);                                           \
    for (uint i = 0u; i < TILE_M; ++i) {                                     \
      vec4 xlo, xhi;                                                         \
      LOAD_X(i, g, xlo, xhi);                                                \
      if (NORM) {                                                            \
        row_sum[i] += dot(xlo, vec4(1.0)) + dot(xhi, vec4(1.0));             \
        row_sum_squares[i] += dot(xlo, xlo) + dot(xhi, xhi);                 \
        xlo *= glo;                                                          \
        xhi *= ghi;                                                          \
      }                                                                      \
      for (uint j = 0u; j < TILE_N; ++j) {                                   \
        acc[i][j] += dot(xlo, wlo[j]) + dot(xhi, whi[j]);                    \
        if (GLU) acc2[i][j] += dot(xlo, w2lo[j]) + dot(xhi, w2hi[j]);        \
      }                                                                      \
    }                                                                        \
  }
#define X_ALIGNED(i, g, lo, hi) { uint q = (x_base[i] + 8u * (g)) / 4u; lo = X4(q); hi = X4(q + 1u); }
#define X_SCALAR(i, g, lo, hi) load_x8_scalar(x_base[i] + 8u * (g), min(pc.K - 8u * (g), 8u), lo, hi)
#define G_ALIGNED(g, lo, hi) { uint q = (pc.gamma_offset + 8u * (g)) / 4u; lo = G4(q); hi = G4(q + 1u); }
#define G_SCALAR(g, lo, hi) load_gamma8_scalar(8u * (g), min(pc.K - 8u * (g), 8u), lo, hi)

void main() {
  const uint n_base = (gl_WorkGroupID.x * LOCAL_N + gl_LocalInvocationID.x) * TILE_N;
  // With one row of invocations every lane reads the same X rows; the
  // constant 0 says so at compile time (llvmpipe still loads them lane by
  // lane from storage buffers, hence X through texels there).
  const uint local_m = LOCAL_M == 1u ? 0u : gl_LocalInvocationID.y;
  const uint m_base = (gl_WorkGroupID.y * LOCAL_M + local_m) * TILE_M;
  if (n_base >= pc.N || m_base >= pc.M) return;
  // Rows past N or M read the last row and are never stored.
  for (uint j = 0u; j < TILE_N; ++j) w_row_base[j] = w_row_index(min(n_base + j, pc.N - 1u));
  for (uint i = 0u; i < TILE_M; ++i) x_base[i] = pc.x_offset + min(m_base + i, pc.M - 1u) * pc.x_stride;
  for (uint i = 0u; i < TILE_M; ++i) {
    row_sum[i] = 0.0;
    row_sum_squares[i] = 0.0;
    for (uint j = 0u; j < TILE_N; ++j) { acc[i][j] = 0.0; acc2[i][j] = 0.0; }
  }

  // The hot loop has no per-element checks (see matmul_vec.comp); unaligned
  // activations and K's last partial group take the scalar path. That path
  // is written once, as a loop: each instance of ACCUMULATE_GROUP unrolls to
  // TILE_M x TILE_N dot products, and LLVM's compile time grows faster than
  // the code (lavapipe JITs it at load), so a third instance for the tail
  // cost seconds of start-up and nothing at run time.
  const uint full_groups = pc.K / 8u;
  uint g = 0u;
  if (ALIGNED != 0u ||
      ((pc.x_offset & 3u) == 0u && (pc.x_stride & 3u) == 0u && (pc.gamma_offset & 3u) == 0u)) {
    for (; g < full_groups; ++g) ACCUMULATE_GROUP(g, X_ALIGNED, G_ALIGNED)
  }
  if (ALIGNED == 0u)
    for (; g < (pc.K + 7u) / 8u; ++g) ACCUMULATE_GROUP(g, X_SCALAR, G_SCALAR)

  for (uint i = 0u; i < TILE_M; ++i) {
    const vec2 stats = NORM ? norm_stats(row_sum[i], row_sum_squares[i], RMS) : vec2(0.0);
    for (uint j = 0u; j < TILE_N; ++j)
      if (m_base + i < pc.M && n_base + j < pc.N) {
        float value = acc[i][j], value2 = acc2[i][j];
        if (NORM) finish_norm(n_base + j, stats, value, value2, RMS, GLU);
        store_output(m_base + i, n_base + j, value, value2);
      }
  }
}
