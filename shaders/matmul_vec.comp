#version 450
// GEMV family: Y = X.W^T for few rows of X (decode). A subgroup (SUBGROUP
// variant) or the whole workgroup (shared-memory variant) computes ROWS
// output columns for up to MAX_M rows at a time; its lanes stride over K in
// groups of 8 and the partial sums are reduced with subgroupAdd or through
// shared memory.
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 8;
layout(constant_id = 1) const uint ROWS = 4;
layout(constant_id = 2) const uint MAX_M = 4;

#define X_DIVERGENT
#include "common/matmul_io.glsl"

#ifndef SUBGROUP
shared float partial_sums[ROWS * MAX_M * 2u][WORKGROUP];
#endif

void main() {
#ifdef SUBGROUP
  // Each subgroup of the workgroup owns ROWS output columns; bigger
  // workgroups amortise the per-workgroup cost of CPU drivers.
  const uint lane = gl_SubgroupInvocationID;
  const uint lanes = gl_SubgroupSize;
  const uint n0 = (gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID) * ROWS;
#else
  const uint lane = gl_LocalInvocationID.x;
  const uint lanes = WORKGROUP;
  const uint n0 = gl_WorkGroupID.x * ROWS;
#endif
  const bool glu = (pc.flags & MATMUL_FLAG_GLU) != 0u;
  const uint full_groups = pc.K / 8u;
  const uint groups = (pc.K + 7u) / 8u;

  for (uint m0 = 0u; m0 < pc.M; m0 += MAX_M) {
    float acc[ROWS][MAX_M];
    float acc2[ROWS][MAX_M];
    for (uint r = 0u; r < ROWS; ++r)
      for (uint i = 0u; i < MAX_M; ++i) { acc[r][i] = 0.0; acc2[r][i] = 0.0; }

    for (uint g = lane; g < groups; g += lanes) {
      vec4 xlo[MAX_M], xhi[MAX_M];
      for (uint i = 0u; i < MAX_M; ++i) {
        if (m0 + i < pc.M) load_x8(m0 + i, g, g >= full_groups, xlo[i], xhi[i]);
        else { xlo[i] = vec4(0.0); xhi[i] = vec4(0.0); }
      }
      for (uint r = 0u; r < ROWS; ++r) {
        uint n = min(n0 + r, pc.N - 1u);  // clamped rows compute but never store
        vec4 wlo, whi;
        LOAD_W8(W_RAW, n, g, wlo, whi);
        for (uint i = 0u; i < MAX_M; ++i) acc[r][i] += dot(xlo[i], wlo) + dot(xhi[i], whi);
        if (glu) {
          LOAD_W8(W2_RAW, n, g, wlo, whi);
          for (uint i = 0u; i < MAX_M; ++i) acc2[r][i] += dot(xlo[i], wlo) + dot(xhi[i], whi);
        }
      }
    }

#ifdef SUBGROUP
    for (uint r = 0u; r < ROWS; ++r)
      for (uint i = 0u; i < MAX_M; ++i) {
        float total = subgroupAdd(acc[r][i]);
        float total2 = glu ? subgroupAdd(acc2[r][i]) : 0.0;
        if (lane == 0u && n0 + r < pc.N && m0 + i < pc.M) store_output(m0 + i, n0 + r, total, total2);
      }
#else
    for (uint r = 0u; r < ROWS; ++r)
      for (uint i = 0u; i < MAX_M; ++i) {
        partial_sums[(r * MAX_M + i) * 2u][lane] = acc[r][i];
        partial_sums[(r * MAX_M + i) * 2u + 1u][lane] = acc2[r][i];
      }
    barrier();
    for (uint slot = lane; slot < ROWS * MAX_M; slot += WORKGROUP) {
      float total = 0.0, total2 = 0.0;
      for (uint l = 0u; l < WORKGROUP; ++l) {
        total += partial_sums[slot * 2u][l];
        total2 += partial_sums[slot * 2u + 1u][l];
      }
      uint r = slot / MAX_M, i = slot % MAX_M;
      if (n0 + r < pc.N && m0 + i < pc.M) store_output(m0 + i, n0 + r, total, total2);
    }
    barrier();
#endif
  }
}
