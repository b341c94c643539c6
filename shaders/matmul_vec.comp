#version 450
// GEMV family: Y = X.W^T for few rows of X (decode). A subgroup (SUBGROUP
// variant) or the whole workgroup (shared-memory variant) computes ROWS
// output columns for up to MAX_M rows at a time; its lanes stride over K in
// groups of 8 and the partial sums are reduced with subgroupAdd or through
// shared memory.
//
// The inner loop is kept free of per-element checks: on CPU drivers every
// branch in it runs under lane masks, and the first version of this kernel
// (alignment, K-tail and GLU tests inside the loop) streamed weights 2.5x
// slower than this one. K's last partial group and unaligned activations
// take separate paths outside the hot loop; GLU is a specialization constant.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 8;
layout(constant_id = 1) const uint ROWS = 4;
layout(constant_id = 2) const uint MAX_M = 4;
layout(constant_id = 3) const uint EPILOGUE = 0u;

#define X_TEXEL
#include "common/matmul_io.glsl"
const bool GLU = (EPILOGUE & MATMUL_FLAG_GLU) != 0u;
const bool NORM = (EPILOGUE & MATMUL_FLAG_NORM) != 0u;
const bool RMS = (EPILOGUE & MATMUL_FLAG_NORM_RMS) != 0u;

#ifndef SUBGROUP
// Each lane's sums, then (NORM) its rows' statistics.
shared float partial_sums[ROWS * MAX_M * 2u + MAX_M * 2u][WORKGROUP];
#endif

float acc[ROWS][MAX_M];
// NORM: each row's sum and sum of squares over this lane's share of K.
float row_sum[MAX_M];
float row_sum_squares[MAX_M];
float acc2[ROWS][MAX_M];
uint w_row_base[ROWS];

// Accumulates group g (8 values of K) of every row pair into the sums; NORM
// first takes the X rows' statistics and scales them by the gain.
void accumulate(uint g, vec4 xlo[MAX_M], vec4 xhi[MAX_M], vec4 glo, vec4 ghi) {
  if (NORM)
    [[unroll]] for (uint i = 0u; i < MAX_M; ++i) {
      row_sum[i] += dot(xlo[i], vec4(1.0)) + dot(xhi[i], vec4(1.0));
      row_sum_squares[i] += dot(xlo[i], xlo[i]) + dot(xhi[i], xhi[i]);
      xlo[i] *= glo;
      xhi[i] *= ghi;
    }
#if defined(WEIGHT_BLOCKS)
  // Block weights are a * q + b per group: a * dot(x, q) + b * sum(x), so
  // the eight weights are never scaled one by one (sum(x) once per row of X).
  float x_sum[MAX_M];
  [[unroll]] for (uint i = 0u; i < MAX_M; ++i) x_sum[i] = dot(xlo[i], vec4(1.0)) + dot(xhi[i], vec4(1.0));
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    vec4 qlo, qhi;
    float a, b;
    LOAD_Q8_AT(W_RAW, w_row_base[r], g, qlo, qhi, a, b);
    [[unroll]] for (uint i = 0u; i < MAX_M; ++i)
      acc[r][i] += a * (dot(xlo[i], qlo) + dot(xhi[i], qhi)) + b * x_sum[i];
    if (GLU) {
      LOAD_Q8_AT(W2_RAW, w_row_base[r], g, qlo, qhi, a, b);
      [[unroll]] for (uint i = 0u; i < MAX_M; ++i)
        acc2[r][i] += a * (dot(xlo[i], qlo) + dot(xhi[i], qhi)) + b * x_sum[i];
    }
  }
#else
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    vec4 wlo, whi;
    LOAD_W8_AT(W_RAW, w_row_base[r], g, wlo, whi);
    [[unroll]] for (uint i = 0u; i < MAX_M; ++i) acc[r][i] += dot(xlo[i], wlo) + dot(xhi[i], whi);
    if (GLU) {
      LOAD_W8_AT(W2_RAW, w_row_base[r], g, wlo, whi);
      [[unroll]] for (uint i = 0u; i < MAX_M; ++i) acc2[r][i] += dot(xlo[i], wlo) + dot(xhi[i], whi);
    }
  }
#endif
}

void main() {
#ifdef SUBGROUP
  // Each subgroup of the workgroup owns ROWS output columns.
  const uint lane = gl_SubgroupInvocationID;
  const uint lanes = gl_SubgroupSize;
  const uint n0 = (gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID) * ROWS;
#else
  const uint lane = gl_LocalInvocationID.x;
  const uint lanes = WORKGROUP;
  const uint n0 = gl_WorkGroupID.x * ROWS;
#endif
  const uint full_groups = pc.K / 8u;
  // Uniform across the dispatch, so this branch costs nothing per element.
  const bool x_aligned = (pc.x_offset & 3u) == 0u && (pc.x_stride & 3u) == 0u && (pc.gamma_offset & 3u) == 0u;
  // Rows past N (the last subgroup's) read row N-1 and are never stored.
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) w_row_base[r] = w_row_index(min(n0 + r, pc.N - 1u));

  for (uint m0 = 0u; m0 < pc.M; m0 += MAX_M) {
    [[unroll]] for (uint r = 0u; r < ROWS; ++r)
      [[unroll]] for (uint i = 0u; i < MAX_M; ++i) { acc[r][i] = 0.0; acc2[r][i] = 0.0; }
    [[unroll]] for (uint i = 0u; i < MAX_M; ++i) { row_sum[i] = 0.0; row_sum_squares[i] = 0.0; }
    // Rows of X past M read row M-1; their sums are dropped.
    uint x_base[MAX_M];
    [[unroll]] for (uint i = 0u; i < MAX_M; ++i) x_base[i] = pc.x_offset + min(m0 + i, pc.M - 1u) * pc.x_stride;

    vec4 xlo[MAX_M], xhi[MAX_M];
    vec4 glo = vec4(1.0), ghi = vec4(1.0);
    if (x_aligned) {
      for (uint g = lane; g < full_groups; g += lanes) {
        [[unroll]] for (uint i = 0u; i < MAX_M; ++i) {
          uint q = (x_base[i] + 8u * g) / 4u;
          xlo[i] = X4(q);
          xhi[i] = X4(q + 1u);
        }
        if (NORM) {
          uint q = (pc.gamma_offset + 8u * g) / 4u;
          glo = G4(q);
          ghi = G4(q + 1u);
        }
        accumulate(g, xlo, xhi, glo, ghi);
      }
    } else {
      for (uint g = lane; g < full_groups; g += lanes) {
        [[unroll]] for (uint i = 0u; i < MAX_M; ++i) load_x8_scalar(x_base[i] + 8u * g, 8u, xlo[i], xhi[i]);
        if (NORM) load_gamma8_scalar(8u * g, 8u, glo, ghi);
        accumulate(g, xlo, xhi, glo, ghi);
      }
    }
    // K's last, partial group: one lane reads it with guarded loads (the
    // weight row's padding is zero, but X past K is another row or garbage).
    if (pc.K % 8u != 0u && lane == full_groups % lanes) {
      [[unroll]] for (uint i = 0u; i < MAX_M; ++i)
        load_x8_scalar(x_base[i] + 8u * full_groups, pc.K % 8u, xlo[i], xhi[i]);
      if (NORM) load_gamma8_scalar(8u * full_groups, pc.K % 8u, glo, ghi);
      accumulate(full_groups, xlo, xhi, glo, ghi);
    }

#ifdef SUBGROUP
    vec2 stats[MAX_M];
    if (NORM)
      [[unroll]] for (uint i = 0u; i < MAX_M; ++i)
        stats[i] = norm_stats(subgroupAdd(row_sum[i]), subgroupAdd(row_sum_squares[i]), RMS);
    [[unroll]] for (uint r = 0u; r < ROWS; ++r)
      [[unroll]] for (uint i = 0u; i < MAX_M; ++i) {
        float total = subgroupAdd(acc[r][i]);
        float total2 = GLU ? subgroupAdd(acc2[r][i]) : 0.0;
        if (NORM && n0 + r < pc.N) finish_norm(n0 + r, stats[i], total, total2, RMS, GLU);
        if (lane == 0u && n0 + r < pc.N && m0 + i < pc.M) store_output(m0 + i, n0 + r, total, total2);
      }
#else
    [[unroll]] for (uint r = 0u; r < ROWS; ++r)
      [[unroll]] for (uint i = 0u; i < MAX_M; ++i) {
        partial_sums[(r * MAX_M + i) * 2u][lane] = acc[r][i];
        partial_sums[(r * MAX_M + i) * 2u + 1u][lane] = acc2[r][i];
      }
    const uint stats_slot = ROWS * MAX_M * 2u;
    if (NORM)
      [[unroll]] for (uint i = 0u; i < MAX_M; ++i) {
        partial_sums[stats_slot + 2u * i][lane] = row_sum[i];
        partial_sums[stats_slot + 2u * i + 1u][lane] = row_sum_squares[i];
      }
    barrier();
    for (uint slot = lane; slot < ROWS * MAX_M; slot += WORKGROUP) {
      float total = 0.0, total2 = 0.0;
      for (uint l = 0u; l < WORKGROUP; ++l) {
        total += partial_sums[slot * 2u][l];
        total2 += partial_sums[slot * 2u + 1u][l];
      }
      uint r = slot / MAX_M, i = slot % MAX_M;
      if (NORM && n0 + r < pc.N) {
        float sum = 0.0, sum_squares = 0.0;
        for (uint l = 0u; l < WORKGROUP; ++l) {
          sum += partial_sums[stats_slot + 2u * i][l];
          sum_squares += partial_sums[stats_slot + 2u * i + 1u][l];
        }
        finish_norm(n0 + r, norm_stats(sum, sum_squares, RMS), total, total2, RMS, GLU);
      }
      if (n0 + r < pc.N && m0 + i < pc.M) store_output(m0 + i, n0 + r, total, total2);
    }
    barrier();
#endif
  }
}
